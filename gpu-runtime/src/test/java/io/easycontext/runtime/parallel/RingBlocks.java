package io.easycontext.runtime.parallel;

/** Runs test code under {@code -Deasycontext.ring.blocks=value}, then puts the property back as it was. */
public final class RingBlocks {

    private RingBlocks() {
    }

    public static void with(String value, Runnable body) {
        String before = System.setProperty(RingSchedule.PROPERTY, value);
        try {
            body.run();
        } finally {
            if (before == null) {
                System.clearProperty(RingSchedule.PROPERTY);
            } else {
                System.setProperty(RingSchedule.PROPERTY, before);
            }
        }
    }
}
