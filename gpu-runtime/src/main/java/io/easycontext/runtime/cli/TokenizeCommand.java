package io.easycontext.runtime.cli;

import io.easycontext.runtime.data.Documents;
import io.easycontext.runtime.data.TokenFile;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code tokenize}: turns a corpus (a {@code .jsonl} file or a directory of {@code .txt} files) into a token file
 * that {@code train --dataset} reads without tokenizing again: BOS and EOS around every text document, ids as uint16
 * or uint32 by the vocabulary's size.
 */
public final class TokenizeCommand implements Command {

    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "tokenize a .jsonl file or a directory of .txt files into a token file: --input --output [--tokenizer]";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws IOException {
        Flags flags = new Flags(args);
        Path input = Path.of(flags.required("input"));
        Path output = Path.of(flags.required("output"));
        String tokenizerSpec = flags.string("tokenizer", Tokenizers.BYTE);
        flags.finish();
        long start = System.nanoTime();
        long[] documents = {0};
        try (Tokenizer tokenizer = Tokenizers.open(tokenizerSpec, null);
             TokenFile.Writer writer = new TokenFile.Writer(output, tokenizer.vocabSize())) {
            Documents.read(input, d -> {
                try {
                    writer.append(Documents.tokens(d, tokenizer));
                    documents[0]++;
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + output, e);
                }
            });
            err.printf(Locale.ROOT, "tokenize: %s with %s in %.1f s%n", input, tokenizer.describe(),
                    (System.nanoTime() - start) / 1e9);
            out.printf(Locale.ROOT, "{\"output\":\"%s\",\"documents\":%d,\"tokens\":%d,\"bytes_per_token\":%d,"
                            + "\"vocab_size\":%d}%n", output, documents[0], writer.count(), writer.bytesPerToken(),
                    tokenizer.vocabSize());
        }
        return 0;
    }
}
