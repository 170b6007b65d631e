package dev.latent.space;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import dev.latent.core.LongPairs;
import java.util.Arrays;
import java.util.HashMap;
import java.util.OptionalLong;
import java.util.function.LongPredicate;

/**
 * The {@link Record}s of a {@link VectorSet}, by id: a read-only base mapped from the index file it was loaded
 * from (the records stay in the page cache, not the heap), and the records added since, encoded in the heap.
 *
 * <p><b>Heap</b>: for the mapped base, 8 bytes per record for its id, 16 more to find a record by id when the
 * file's ids are not ascending (sorted ids and their slots), and 8 to find one by key (a sorted table of 35-bit
 * key hashes with slots, each hit checked against the key's bytes): a million records cost 16 to 28 MB of heap
 * whatever their texts. Records added afterwards are held encoded ({@link Record#encode()}) plus a map entry each.
 *
 * <p><b>Snapshots</b>: {@link #freeze()} returns a read-only view in O(1) that later writes to this store never
 * change (the first write after a freeze copies the added records' maps, once).
 *
 * <p>Not thread-safe: the set that owns a store serialises writers against readers. A frozen view may be read
 * from any thread. The mapping is let go by the garbage collector (Java cannot unmap); a file replaced by a save
 * keeps its old pages readable through the mapping, while another process truncating a mapped file in place makes
 * reads of the lost pages fail with an {@link InternalError}.
 */
public final class RecordStore {
    private static final byte[] NO_RECORD = new byte[0];

    private final Base base;                  // null: no file records
    private HashMap<Long, byte[]> added;      // id -> encoded record, or NO_RECORD to hide a base record
    private HashMap<String, Long> addedKeys;  // key -> id of the added records
    private int addedRecords;                 // entries of added that are records
    private boolean shared;                   // a frozen view reads the maps: copy before writing
    private final boolean frozen;

    private RecordStore(Base base, HashMap<Long, byte[]> added, HashMap<String, Long> addedKeys, int addedRecords,
                        boolean frozen) {
        this.base = base;
        this.added = added;
        this.addedKeys = addedKeys;
        this.addedRecords = addedRecords;
        this.frozen = frozen;
    }

    /** A store with no records. */
    public static RecordStore empty() {
        return new RecordStore(null, new HashMap<>(), new HashMap<>(), 0, false);
    }

    /**
     * Whether any record may be stored: a base from a file with records, or a record added. An index file is
     * written with a records section when this holds (rows without a record are marked so).
     */
    public boolean hasRecords() {
        return base != null || addedRecords > 0;
    }

    /** The record of {@code id}, or null when it has none. */
    public Record get(long id) {
        byte[] b = encoded(id);
        return b == null ? null : Record.decode(b);
    }

    /** The encoded record of {@code id} ({@link Record#encode()}), or null when it has none. */
    public byte[] encoded(long id) {
        byte[] b = added.get(id);
        if (b != null) {
            return b == NO_RECORD ? null : b;
        }
        return base == null ? null : base.recordOfId(id);
    }

    /** The key of {@code id}'s record, or null when it has none. */
    public String key(long id) {
        byte[] b = encoded(id);
        return b == null ? null : Record.decodeKey(b);
    }

    /**
     * The id whose record has {@code key}, if any. Base records count only while {@code live} holds for their id
     * and no later write replaced them.
     */
    public OptionalLong idOf(String key, LongPredicate live) {
        Long id = addedKeys.get(key);
        if (id != null) {
            return OptionalLong.of(id);
        }
        if (base == null) {
            return OptionalLong.empty();
        }
        OptionalLong found = base.idOfKey(key);
        return found.isPresent() && live.test(found.getAsLong()) && !added.containsKey(found.getAsLong())
                ? found : OptionalLong.empty();
    }

    /** Stores {@code record} (null: none) for {@code id}, replacing what the id had. The caller checked the key. */
    public void put(long id, Record record) {
        writable();
        drop(id);
        if (record != null) {
            added.put(id, record.encode());
            addedKeys.put(record.key(), id);
            addedRecords++;
        } else if (base != null) {
            added.put(id, NO_RECORD);
        }
    }

    /** Forgets the record of {@code id} (its key becomes free). */
    public void remove(long id) {
        writable();
        drop(id);
        if (base != null) {
            added.put(id, NO_RECORD);   // hides a base record of a removed id, should the id come back
        }
    }

    private void drop(long id) {
        byte[] old = added.remove(id);
        if (old != null && old != NO_RECORD) {
            addedKeys.remove(Record.decodeKey(old));
            addedRecords--;
        }
    }

    /** A read-only view of the records as they are now, in O(1); later writes here do not change it. */
    public RecordStore freeze() {
        if (frozen) {
            return this;
        }
        shared = true;
        return new RecordStore(base, added, addedKeys, addedRecords, true);
    }

    private void writable() {
        if (frozen) {
            throw new IllegalStateException("a frozen record view cannot be written");
        }
        if (shared) {
            added = new HashMap<>(added);
            addedKeys = new HashMap<>(addedKeys);
            shared = false;
        }
    }

    /** Heap held to find the base's records (the lookup tables), in bytes; 0 without a base. */
    public long baseHeapBytes() {
        return base == null ? 0 : base.heapBytes();
    }

    // ------------------------------------------------------------------ the base, mapped from a file

    /**
     * A store whose base is the records section of an index file: {@code count + 1} little-endian u64 offsets at
     * {@code offsetsAt} (relative to {@code dataAt}, ascending, the first 0, the last {@code dataBytes}), and the
     * records' bytes at {@code dataAt}; slot {@code i} belongs to {@code slotIds[i]}. Every record's framing and
     * the uniqueness of the keys are checked here, reading the section once through the mapping.
     *
     * @param source named in messages
     * @throws IOException naming the file and the slot of a bad record or the two slots of a repeated key
     */
    public static RecordStore mapped(Path file, long offsetsAt, long dataAt, long dataBytes, long[] slotIds, String source)
            throws IOException {
        Base b = new Base(file, offsetsAt, dataAt, dataBytes, slotIds, source);
        return new RecordStore(b, new HashMap<>(), new HashMap<>(), 0, false);
    }

    private static final class Base {
        private static final long CHUNK = 1L << 30;
        private final MappedByteBuffer[] offsetsMap;
        private final MappedByteBuffer[] dataMap;
        private final int count;
        private final long[] sortedIds;   // null: ids ascending, slot = position in slotIds
        private final long[] slotOfSorted;
        private final long[] slotIds;     // the id of each slot
        private final long[] keyTable;    // (35-bit key hash << 29) | slot, sorted

        Base(Path file, long offsetsAt, long dataAt, long dataBytes, long[] slotIds, String source) throws IOException {
            this.count = slotIds.length;
            this.slotIds = slotIds.clone();   // the set's own array changes as rows move
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                offsetsMap = map(ch, offsetsAt, 8L * (count + 1));
                dataMap = map(ch, dataAt, dataBytes);
            }
            boolean ascending = true;
            for (int i = 1; i < count && ascending; i++) {
                ascending = slotIds[i] > slotIds[i - 1];
            }
            if (ascending) {
                sortedIds = null;
                slotOfSorted = null;
            } else {
                long[] ids = slotIds.clone();
                long[] slots = new long[count];
                for (int i = 0; i < count; i++) {
                    slots[i] = i;
                }
                LongPairs.sort(ids, slots, 0, count - 1);
                sortedIds = ids;
                slotOfSorted = slots;
            }
            if (offset(0) != 0 || offset(count) != dataBytes) {
                throw new IOException(source + ": corrupt records section: offsets run from " + offset(0) + " to "
                        + offset(count) + ", the section holds " + dataBytes + " bytes");
            }
            long[] keys = new long[count];
            int n = 0;
            long prev = 0;
            for (int slot = 0; slot < count; slot++) {
                long end = offset(slot + 1);
                if (end < prev || end > dataBytes) {
                    throw new IOException(source + ": corrupt records section: record " + slot + " ends at " + end);
                }
                if (end > prev) {
                    byte[] rec = read(prev, (int) Math.min(Integer.MAX_VALUE, end - prev));
                    String key;
                    try {
                        key = Record.checkFraming(rec);
                    } catch (IllegalArgumentException e) {
                        throw new IOException(source + ": corrupt records section: record " + slot + ": " + e.getMessage());
                    }
                    keys[n++] = (hash(key) << 29) | slot;
                }
                prev = end;
            }
            keyTable = Arrays.copyOf(keys, n);
            Arrays.sort(keyTable);
            for (int i = 1; i < n; i++) {
                if (keyTable[i] >>> 29 == keyTable[i - 1] >>> 29) {
                    int a = (int) (keyTable[i - 1] & SLOT_MASK);
                    int c = (int) (keyTable[i] & SLOT_MASK);
                    String ka = keyOfSlot(a);
                    if (ka.equals(keyOfSlot(c))) {
                        throw new IOException(source + ": duplicate record key '" + ka + "' (rows " + Math.min(a, c)
                                + " and " + Math.max(a, c) + ")");
                    }
                }
            }
        }

        private static final long SLOT_MASK = (1L << 29) - 1;

        private static MappedByteBuffer[] map(FileChannel ch, long at, long bytes) throws IOException {
            int chunks = (int) Math.max(1, (bytes + CHUNK - 1) / CHUNK);
            MappedByteBuffer[] m = new MappedByteBuffer[chunks];
            for (int i = 0; i < chunks; i++) {
                long from = i * CHUNK;
                long len = Math.min(CHUNK, bytes - from);
                m[i] = ch.map(FileChannel.MapMode.READ_ONLY, at + from, Math.max(0, len));
                m[i].order(ByteOrder.LITTLE_ENDIAN);
            }
            return m;
        }

        long heapBytes() {
            return 8L * keyTable.length + 8L * count + (sortedIds == null ? 0 : 16L * count);
        }

        private long offset(int slot) {
            long pos = 8L * slot;
            MappedByteBuffer b = offsetsMap[(int) (pos / CHUNK)];
            int at = (int) (pos % CHUNK);
            if (at + 8 <= b.limit()) {
                return b.getLong(at);
            }
            long v = 0;
            for (int i = 0; i < 8; i++) {   // a u64 across two chunks
                long p = pos + i;
                v |= (offsetsMap[(int) (p / CHUNK)].get((int) (p % CHUNK)) & 0xffL) << (8 * i);
            }
            return v;
        }

        private byte[] read(long pos, int len) {
            byte[] out = new byte[len];
            int done = 0;
            while (done < len) {
                long p = pos + done;
                MappedByteBuffer b = dataMap[(int) (p / CHUNK)];
                int at = (int) (p % CHUNK);
                int n = Math.min(len - done, b.limit() - at);
                b.get(at, out, done, n);
                done += n;
            }
            return out;
        }

        private byte[] recordOfSlot(int slot) {
            long from = offset(slot);
            long to = offset(slot + 1);
            return to == from ? null : read(from, (int) (to - from));
        }

        private String keyOfSlot(int slot) {
            long from = offset(slot);
            byte[] len = read(from, 4);
            int kl = (len[0] & 0xff) | (len[1] & 0xff) << 8 | (len[2] & 0xff) << 16 | (len[3] & 0xff) << 24;
            return new String(read(from + 4, kl), StandardCharsets.UTF_8);
        }

        byte[] recordOfId(long id) {
            int slot = slotOf(id);
            return slot < 0 ? null : recordOfSlot(slot);
        }

        private int slotOf(long id) {
            if (sortedIds == null) {
                int i = Arrays.binarySearch(slotIds, id);
                return i < 0 ? -1 : i;
            }
            int i = Arrays.binarySearch(sortedIds, id);
            return i < 0 ? -1 : (int) slotOfSorted[i];
        }

        /** The id of the base record with {@code key}, if any. */
        OptionalLong idOfKey(String key) {
            long h = hash(key);
            int i = lowerBound(keyTable, h << 29);
            for (; i < keyTable.length && keyTable[i] >>> 29 == h; i++) {
                int slot = (int) (keyTable[i] & SLOT_MASK);
                if (keyOfSlot(slot).equals(key)) {
                    return OptionalLong.of(slotIds[slot]);
                }
            }
            return OptionalLong.empty();
        }

        private static int lowerBound(long[] a, long v) {
            int lo = 0;
            int hi = a.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (a[mid] < v) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        /** A 35-bit hash of the key's UTF-8 bytes (FNV-1a 64, folded). */
        private static long hash(String key) {
            long h = 0xcbf29ce484222325L;
            for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
                h ^= b & 0xff;
                h *= 0x100000001b3L;
            }
            h ^= h >>> 29;
            return h >>> 29;   // 35 bits
        }
    }

    @Override
    public String toString() {
        return "RecordStore[" + (base == null ? "no file base" : base.count + " mapped") + ", " + addedRecords + " added"
                + (frozen ? ", frozen" : "") + "]";
    }
}
