package io.easycontext.service.testsupport;

import java.util.Optional;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** See {@link RequiresChromium}. */
class ChromiumAvailableCondition implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> missing = HeadlessChromium.missing();
        if (missing.isEmpty()) {
            return ConditionEvaluationResult.enabled("Chromium and chromedriver are installed");
        }
        String message = "SKIPPED " + context.getDisplayName() + ": no " + missing.get() + " on the PATH (nor "
                + "CHROME_BIN and CHROMEDRIVER), so no browser test. On Debian: apt-get install chromium chromium-driver "
                + "(.ci/run does).";
        System.err.println(message);
        return ConditionEvaluationResult.disabled(message);
    }
}
