package io.easycontext.service.plan;

import io.easycontext.service.job.spec.JobSpec;
import io.swagger.v3.oas.annotations.Operation;
import jakarta.validation.Valid;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The dry run of a training's submission: what it needs in memory on this node and what {@code autoMemory} would
 * choose, as the CLI's {@code plan} prints it. It takes the body of {@code POST /api/jobs} and validates it the same
 * way, so a spec that plans cleanly is one that submission accepts or refuses for the reason the plan shows.
 */
@RestController
@RequestMapping("/api/plans")
class PlanController {

    private final NodePlans plans;

    PlanController(NodePlans plans) {
        this.plans = plans;
    }

    @Operation(summary = "Plan a training's memory without submitting it", description = "Takes the body of "
            + "POST /api/jobs (kind TRAIN, gpus ≥ 1). 200 with each run's predicted peak per GPU rank, the pool it "
            + "is compared with, whether it fits and what autoMemory would choose; nothing is queued.")
    @PostMapping
    PlanResponse plan(@Valid @RequestBody JobSpec spec) {
        return plans.plan(spec);
    }
}
