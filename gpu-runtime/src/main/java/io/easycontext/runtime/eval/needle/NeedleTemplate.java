package io.easycontext.runtime.eval.needle;

import java.util.List;

/**
 * The words of a needle test: the needle sentence, the text around the haystack and the question. The question ends
 * with the needle's own words up to the number, so the answer is the needle's continuation: a space and the number
 * (what SentencePiece's word-start marker and digits encode).
 *
 * @param prefix           opens the prompt, before the haystack
 * @param city             whose number the question asks for
 * @param distractorCities whose numbers are hidden as distractors, in turn
 */
public record NeedleTemplate(String prefix, String city, List<String> distractorCities) {

    /** EasyContext's protocol, in this project's words. */
    public static final NeedleTemplate DEFAULT = new NeedleTemplate("Below is a long book. Read it closely. <book>",
            "Singapore", List.of("Lisbon", "Nairobi", "Montreal", "Osaka", "Lima", "Warsaw", "Hanoi"));

    public NeedleTemplate {
        distractorCities = List.copyOf(distractorCities);
        if (distractorCities.contains(city)) {
            throw new IllegalArgumentException("the distractor cities include the needle's city " + city);
        }
    }

    /** The hidden sentence, on a line of its own. */
    public static String needle(String city, long number) {
        return "\nThe special magic " + city + " number is: " + number + ".\n";
    }

    /** Closes the book and asks for {@link #city}'s number, ending where the number should follow. */
    public String question() {
        return "</book>\nQuestion: according to the book, what is the special magic " + city
                + " number? Answer: The special magic " + city + " number is:";
    }

    public static String answer(long number) {
        return " " + number;
    }

    /** The city of distractor {@code i}: the list in turn, as many times as needed. */
    public String distractorCity(int i) {
        if (distractorCities.isEmpty()) {
            throw new IllegalStateException("this template has no distractor cities");
        }
        return distractorCities.get(i % distractorCities.size());
    }
}
