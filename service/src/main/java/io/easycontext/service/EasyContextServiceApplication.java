package io.easycontext.service;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The job service: accepts training and evaluation jobs over REST and keeps them in a database. */
@SpringBootApplication
public class EasyContextServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(EasyContextServiceApplication.class, args);
    }
}
