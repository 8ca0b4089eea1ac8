package io.easycontext.runtime.eval.needle;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The numbers of one evaluation, drawn once from its seed as in EasyContext: one per sample (the same numbers in
 * every cell of the grid, so cells differ only in length and depth) and one per distractor. Every number has exactly
 * {@code digits} digits, and no distractor equals a needle, so a distractor's number is never a right answer.
 * With {@code distinctDigits} no digit repeats within a number (the passkey recipe's keys: finding each next digit
 * then needs to match only the one before it).
 */
public record NeedleNumbers(long[] needles, long[] distractors) {

    /** Numbers of up to 18 digits fit in a long. */
    public static final int MAX_DIGITS = 18;

    public static NeedleNumbers draw(long seed, int digits, boolean distinctDigits, int samples, int distractors) {
        if (digits < 1 || digits > (distinctDigits ? 10 : MAX_DIGITS)) {
            throw new IllegalArgumentException("numbers have 1 to " + (distinctDigits ? 10 : MAX_DIGITS)
                    + " digits, not " + digits);
        }
        if (samples < 1 || distractors < 0) {
            throw new IllegalArgumentException(samples + " samples and " + distractors + " distractors");
        }
        SplittableRandom random = new SplittableRandom(seed);
        long[] needles = new long[samples];
        for (int i = 0; i < samples; i++) {
            needles[i] = number(random, digits, distinctDigits);
        }
        Set<Long> taken = new HashSet<>();
        for (long n : needles) {
            taken.add(n);
        }
        long[] others = new long[distractors];
        if (distractors > 0 && taken.size() == count(digits, distinctDigits)) {
            throw new IllegalArgumentException("the needles take every " + digits + "-digit number; no distractor "
                    + "could differ from them");
        }
        for (int i = 0; i < distractors; i++) {
            long n;
            do {
                n = number(random, digits, distinctDigits);
            } while (taken.contains(n));
            others[i] = n;
        }
        return new NeedleNumbers(needles, others);
    }

    /** A uniform number of exactly {@code digits} digits: the first from 1–9 (0 alone), the others from 0–9. */
    static long number(SplittableRandom random, int digits, boolean distinctDigits) {
        long low = digits == 1 ? 0 : pow10(digits - 1);
        long n;
        do {
            n = random.nextLong(low, pow10(digits));
        } while (distinctDigits && !distinct(n));
        return n;
    }

    private static boolean distinct(long n) {
        int seen = 0;
        for (long m = n; m > 0 || seen == 0; m /= 10) {
            int bit = 1 << (m % 10);
            if ((seen & bit) != 0) {
                return false;
            }
            seen |= bit;
        }
        return true;
    }

    /** How many numbers there are to draw from. */
    private static long count(int digits, boolean distinctDigits) {
        if (!distinctDigits) {
            return pow10(digits) - (digits == 1 ? 0 : pow10(digits - 1));
        }
        long c = digits == 1 ? 10 : 9;
        for (int i = 1; i < digits; i++) {
            c *= 10 - i;
        }
        return c;
    }

    private static long pow10(int e) {
        long p = 1;
        for (int i = 0; i < e; i++) {
            p *= 10;
        }
        return p;
    }
}
