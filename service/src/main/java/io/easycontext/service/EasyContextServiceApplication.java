package io.easycontext.service;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The job service: accepts training and evaluation jobs over REST, keeps them in a database, and runs them on this
 * node's GPUs or CPU backend.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class EasyContextServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(EasyContextServiceApplication.class, args);
    }
}
