package dev.latent.analyse.text;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.WordlistLoader;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.util.IOUtils;

/**
 * Words of a text for term statistics: Lucene's standard tokenizer (Unicode word boundaries), lower case,
 * possessive {@code 's} removed, English stop words removed (the Snowball list, 174 words, and Lucene's
 * default English set), and only tokens of three or more characters holding a letter kept. No stemming, so
 * the terms shown read as written.
 *
 * <p>Thread-safe: Lucene's analyzer keeps one token stream per thread.
 */
public final class Terms implements AutoCloseable {
    private static final CharArraySet STOP = stopWords();

    private final Analyzer analyzer = new Analyzer() {
        @Override
        protected TokenStreamComponents createComponents(String field) {
            StandardTokenizer source = new StandardTokenizer();
            TokenStream t = new EnglishPossessiveFilter(source);
            t = new LowerCaseFilter(t);
            t = new StopFilter(t, STOP);
            return new TokenStreamComponents(source, t);
        }
    };

    private static CharArraySet stopWords() {
        try (Reader r = IOUtils.getDecodingReader(SnowballFilter.class, "english_stop.txt", StandardCharsets.UTF_8)) {
            CharArraySet set = new CharArraySet(256, false);
            set.addAll(WordlistLoader.getSnowballWordSet(r));
            set.addAll(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET);
            return CharArraySet.unmodifiableSet(set);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Lucene's English stop words", e);
        }
    }

    /** The kept words of {@code text}, in order. */
    public List<String> of(String text) {
        List<String> out = new ArrayList<>();
        try (TokenStream ts = analyzer.tokenStream("t", new StringReader(text))) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) {
                if (term.length() >= 3 && hasLetter(term)) {
                    out.add(term.toString());
                }
            }
            ts.end();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringReader does not fail
        }
        return out;
    }

    private static boolean hasLetter(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isLetter(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code word} (lower case) is a stop word. */
    public static boolean isStopWord(String word) {
        return STOP.contains(word);
    }

    @Override
    public void close() {
        analyzer.close();
    }
}
