package io.easycontext.runtime.train;

import io.easycontext.runtime.profile.OpProfile;
import io.easycontext.runtime.profile.ProfileReport;

/** Where a run with its ops profiled ({@link OpProfile}) sends each rank's profile of each step. */
@FunctionalInterface
public interface StepProfiles {

    /** Called on rank {@code rank}'s thread once its optimizer step {@code step} (1-based) is done. */
    void accept(int rank, int step, ProfileReport report);
}
