package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import java.util.List;
import org.junit.jupiter.api.Test;

class MapDataTest {
    @Test
    void copiesCoordinatesFromAnNx2MatrixAndFillsTheOptionalParts() {
        MapData map;
        try (FloatMatrix xy = FloatMatrix.of(new float[] {1, 2, 3, 4, 5, 6}, 2)) {
            map = MapData.of(xy, new String[] {"a", "b", "c"}, null, null, null, null, null, null);
        }
        assertArrayEquals(new float[] {1, 3, 5}, map.x());
        assertArrayEquals(new float[] {2, 4, 6}, map.y());
        assertArrayEquals(new int[] {MapData.NONE, MapData.NONE, MapData.NONE}, map.segment());
        assertEquals(0, map.outlierCount());
        assertEquals(List.of(), map.segments());
        assertEquals("", map.title());
        assertNull(map.text(1));
        try (FloatMatrix three = FloatMatrix.of(new float[] {1, 2, 3}, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MapData.of(three, new String[] {"a"}, null, null, null, null, null, null));
            assertTrue(e.getMessage().contains("2 coordinates"), e.getMessage());
        }
    }

    @Test
    void namesTheFirstBadPoint() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MapData(new float[] {0, Float.NaN}, new float[] {0, 0}, new String[] {"a", "b"}, null, null,
                        null, null, null, null));
        assertTrue(e.getMessage().contains("point 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new MapData(new float[] {0}, new float[] {0}, new String[] {"a"}, null, new int[] {2}, null,
                        List.of(new MapData.Segment("x", 1)), null, null));
        assertTrue(e.getMessage().contains("segment 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new MapData(new float[] {0, 1}, new float[] {0}, new String[] {"a", "b"}, null, null, null, null,
                        null, null));
        assertTrue(e.getMessage().contains("one of each per point"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new MapData(new float[] {0}, new float[] {0}, new String[] {null}, null, null, null, null, null,
                        null));
        assertTrue(e.getMessage().contains("point 0 has no id"), e.getMessage());
    }

    @Test
    void thumbnailsMustBePngDataUris() {
        MapData map = new MapData(new float[] {0, 1}, new float[] {0, 1}, new String[] {"a", "b"}, null, null, null, null,
                null, null);
        assertEquals(2, map.withImages(new String[] {"data:image/png;base64,iVBORw0KGgo=", null}).images().length);
        for (String bad : new String[] {"javascript:alert(1)", "data:image/png;base64,\"><script>", "data:text/html;base64,PGI+"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> map.withImages(new String[] {null, bad}));
            assertTrue(e.getMessage().contains("point 1") && e.getMessage().contains("data:image/png;base64"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> map.withImages(new String[1]));
    }
}
