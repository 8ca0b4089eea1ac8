package io.easycontext.service.testsupport;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;

/** See {@link RequiresDocker}. */
class DockerAvailableCondition implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (DockerClientFactory.instance().isDockerAvailable()) {
            return ConditionEvaluationResult.enabled("Docker is available");
        }
        String message = "SKIPPED " + context.getDisplayName() + ": no Docker daemon, so no PostgreSQL container. "
                + "On a CI machine run ../shared/ci/docker-postgres.sh first (.ci/run does).";
        System.err.println(message);
        return ConditionEvaluationResult.disabled(message);
    }
}
