package io.easycontext.service.job;

import org.springframework.boot.data.jpa.test.autoconfigure.DataJpaTest;

/** The repository on H2, the default database, as the application configures it. */
@DataJpaTest
class JobRepositoryTest extends JobRepositoryContract {
}
