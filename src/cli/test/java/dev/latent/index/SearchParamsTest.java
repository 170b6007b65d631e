package dev.latent.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The search parameters: one-line errors for bad knobs, values that do not change once made. */
class SearchParamsTest {
    @Test
    void badKnobsAreRefusedNamingThemselves() {
        assertEquals("k must be >= 1, got k=0",
                assertThrows(IllegalArgumentException.class, () -> SearchParams.topK(0)).getMessage());
        assertEquals("radius is NaN",
                assertThrows(IllegalArgumentException.class, () -> SearchParams.within(Float.NaN)).getMessage());
        assertEquals("maxResults must be >= 0, got -1",
                assertThrows(IllegalArgumentException.class, () -> SearchParams.within(1).maxResults(-1)).getMessage());
        assertEquals("nprobe must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> SearchParams.topK(3).nprobe(0)).getMessage());
        assertEquals("rerank factor must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> SearchParams.topK(3).rerank(0)).getMessage());
        assertThrows(NullPointerException.class, () -> SearchParams.topK(3).allowedIds((long[]) null));
    }

    @Test
    void eachKnobMakesANewValueAndTheAllowedIdsAreCopied() {
        SearchParams base = SearchParams.topK(10);
        long[] ids = {5, 3, 5};
        SearchParams p = base.allowedIds(ids).nprobe(8).rerank(4);
        ids[0] = 99;
        assertArrayEquals(new long[] {5, 3, 5}, p.allowedIds());
        assertTrue(p.filtered());
        assertFalse(base.filtered());
        assertNull(base.allowedIds());
        assertEquals(0, base.nprobe());
        assertEquals(8, p.nprobe());
        assertEquals(4, p.rerank());
        assertEquals(10, p.k());
        assertFalse(p.isRange());
        assertEquals(SearchParams.topK(10).allowedIds(5, 3, 5).nprobe(8).rerank(4), p);
        assertNotEquals(base, p);
        SearchParams r = SearchParams.within(0.5f).maxResults(7);
        assertTrue(r.isRange());
        assertEquals(0.5f, r.radius());
        assertEquals(7, r.maxResults());
        assertEquals("within(0.5), maxResults 7", r.toString());
    }
}
