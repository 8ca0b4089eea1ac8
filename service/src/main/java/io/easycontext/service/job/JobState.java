package io.easycontext.service.job;

/** Where a job is in its life. Stored by name, so new states need no schema change. */
public enum JobState {
    /** Accepted and waiting for a runner. */
    QUEUED
}
