package io.easycontext.runtime.io;

import java.nio.file.Path;

/**
 * A file that cannot be what it claims to be: truncated, corrupted, or holding the wrong tensors. The message
 * starts with the file and names the tensor or field at fault, so that a user can find it without a debugger.
 */
public final class InvalidFileException extends RuntimeException {

    public InvalidFileException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public InvalidFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
