package io.easycontext.service.testsupport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A headless Chromium driven through the chromedriver installed beside it (Debian's {@code chromium} and
 * {@code chromium-driver}), or through {@code CHROME_BIN} and {@code CHROMEDRIVER}. Both paths are given to Selenium,
 * so that its Selenium Manager never downloads a browser or driver: CI machines reach no such site. Tests that use it
 * are marked {@link RequiresChromium}.
 */
public final class HeadlessChromium {

    private HeadlessChromium() {
    }

    /** What this machine lacks to run it, if anything. */
    static Optional<String> missing() {
        if (browser().isEmpty()) {
            return Optional.of("chromium");
        }
        return driver().isEmpty() ? Optional.of("chromedriver") : Optional.empty();
    }

    /** A new browser, its console kept so that tests can see script errors and Content-Security-Policy violations. */
    public static ChromeDriver start() {
        Path browser = browser().orElseThrow(() -> new IllegalStateException("no chromium: see RequiresChromium"));
        Path driver = driver().orElseThrow(() -> new IllegalStateException("no chromedriver: see RequiresChromium"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(driver.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser.toFile());
        // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1200", "--disable-extensions", "--no-first-run");
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        return new ChromeDriver(service, options);
    }

    private static Optional<Path> browser() {
        return find("CHROME_BIN", "chromium", "chromium-browser", "google-chrome");
    }

    private static Optional<Path> driver() {
        return find("CHROMEDRIVER", "chromedriver");
    }

    private static Optional<Path> find(String variable, String... names) {
        String configured = System.getenv(variable);
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured)).filter(Files::isExecutable);
        }
        String path = System.getenv().getOrDefault("PATH", "");
        return Stream.of(names)
                .flatMap(name -> Stream.of(path.split(File.pathSeparator)).map(dir -> Path.of(dir, name)))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
