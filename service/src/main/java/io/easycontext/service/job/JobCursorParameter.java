package io.easycontext.service.job;

/**
 * The {@code cursor} request parameter. Spring converts it through {@link #valueOf}, so that a cursor this service
 * did not issue is a 400 naming the parameter, like any other unconvertible parameter.
 */
record JobCursorParameter(JobCursor value) {

    public static JobCursorParameter valueOf(String text) {
        return new JobCursorParameter(JobCursor.decode(text));
    }
}
