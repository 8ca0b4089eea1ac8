package io.easycontext.runtime.eval.needle;

import java.util.List;

/**
 * The words of a needle test. {@code {city}} and {@code {number}} stand for the city and its number. The question
 * ends with the needle's own words up to the number, so that the answer is the needle's continuation.
 *
 * @param prefix           opens the prompt, before the haystack
 * @param needle           the hidden sentence
 * @param question         closes the haystack and asks for the city's number
 * @param answer           what follows the question: the needle's text after the question's last words
 * @param city             whose number the question asks for
 * @param distractorCities whose numbers are hidden as distractors, in turn
 * @param distinctDigits   whether the numbers' digits are all different ({@link NeedleNumbers})
 */
public record NeedleTemplate(String name, String prefix, String needle, String question, String answer,
                             String city, List<String> distractorCities, boolean distinctDigits) {

    /** EasyContext's needle test, in this project's words. */
    public static final NeedleTemplate MAGIC_NUMBER = new NeedleTemplate("magic-number",
            "Below is a long book. Read it closely. <book>",
            "\nThe special magic {city} number is: {number}.\n",
            "</book>\nQuestion: according to the book, what is the special magic {city} number? "
                    + "Answer: The special magic {city} number is:",
            // A space and the digits: what SentencePiece's word-start marker and digits encode, as in EasyContext.
            " {number}", "Singapore", List.of("Lisbon", "Nairobi", "Montreal", "Osaka", "Lima", "Warsaw", "Hanoi"),
            false);

    /**
     * A short test for a model trained from scratch (the passkey recipe): few words around the key, so that at a
     * short training length most tokens are haystack. The key follows a sign found nowhere else and repeats no
     * digit, so that each next token is found by matching just the one before it (an induction head), which a
     * two-layer model learns in a few hundred steps; keys with repeated digits need two tokens matched, which takes
     * a tiny model thousands.
     */
    public static final NeedleTemplate PASSKEY = new NeedleTemplate("passkey", "", " The {city} key is #{number}.",
            " The {city} key is #", "{number}", "pass", List.of("door", "car", "safe", "gate", "box"), true);

    public static final List<NeedleTemplate> ALL = List.of(MAGIC_NUMBER, PASSKEY);

    public NeedleTemplate {
        distractorCities = List.copyOf(distractorCities);
        if (distractorCities.contains(city)) {
            throw new IllegalArgumentException("the distractor cities include the needle's city " + city);
        }
        if (!needle.contains("{number}") || !answer.contains("{number}")) {
            throw new IllegalArgumentException("the needle '" + needle + "' and the answer '" + answer
                    + "' must both hold the {number}");
        }
    }

    public static NeedleTemplate named(String name) {
        return ALL.stream().filter(t -> t.name.equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown needle template '" + name + "'; known: "
                        + ALL.stream().map(NeedleTemplate::name).toList()));
    }

    /** The needle of {@code city} with {@code number}. */
    public String needle(String city, long number) {
        return needle.replace("{city}", city).replace("{number}", Long.toString(number));
    }

    public String question() {
        return question.replace("{city}", city);
    }

    public String answer(long number) {
        return answer.replace("{number}", Long.toString(number));
    }

    /** The city of distractor {@code i}: the list in turn, as many times as needed. */
    public String distractorCity(int i) {
        if (distractorCities.isEmpty()) {
            throw new IllegalStateException("template " + name + " has no distractor cities");
        }
        return distractorCities.get(i % distractorCities.size());
    }
}
