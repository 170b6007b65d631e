package dev.latent.index;

import dev.latent.space.Record;
import dev.latent.space.VectorSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The payload fields of an index's records, inverted: for each field, each value → the ids holding it (strings,
 * booleans and list elements), the numbers sorted with their ids (ranges by binary search), and the ids that have
 * the field. A {@link Filter} is answered by set operations on sorted id arrays, reading no payload, so a
 * selective filter costs about as much as the ids it matches.
 *
 * <p>Built in one pass over the records (each payload parsed once) for the rows of one moment of the index; the
 * index builds a new one at the first filtered search after a write. Immutable once built, so thread-safe.
 */
final class PayloadIndex {
    /** The kinds of values a field holds, for type errors. */
    private static final int STRING = 1;
    private static final int NUMBER = 2;
    private static final int BOOLEAN = 4;
    private static final int LIST = 8;

    private static final class Field {
        final Map<Object, long[]> byValue = new HashMap<>();   // String / Boolean / Double-normalised number
        double[] numbers;
        long[] numberIds;
        long[] present;
        int kinds;
    }

    private final long[] all;   // every id, sorted
    private final Map<String, Field> fields;
    final long version;

    private PayloadIndex(long[] all, Map<String, Field> fields, long version) {
        this.all = all;
        this.fields = fields;
        this.version = version;
    }

    /** The payload index of the set's rows now. Caller holds the index's lock. */
    static PayloadIndex build(VectorSet set, long version) {
        int n = set.size();
        long[] ids = Arrays.copyOf(set.idsShared(), n);
        Map<String, Map<Object, LongList>> values = new HashMap<>();
        Map<String, LongList> present = new HashMap<>();
        Map<String, List<double[]>> numbers = new HashMap<>();
        Map<String, LongList> numberIds = new HashMap<>();
        Map<String, Integer> kinds = new HashMap<>();
        for (int row = 0; row < n; row++) {
            long id = ids[row];
            Record r = set.record(id);
            if (r == null) {
                continue;
            }
            for (Map.Entry<String, Object> e : r.payload().entrySet()) {
                String f = e.getKey();
                Object v = e.getValue();
                present.computeIfAbsent(f, x -> new LongList()).add(id);
                Map<Object, LongList> byValue = values.computeIfAbsent(f, x -> new HashMap<>());
                int kind;
                if (v instanceof List<?> list) {
                    kind = LIST;
                    for (Object x : new TreeSet<Object>(list.stream().map(o -> (Object) o).toList())) {
                        byValue.computeIfAbsent(x, x2 -> new LongList()).add(id);
                    }
                } else if (v instanceof Number num) {
                    kind = NUMBER;
                    double d = num.doubleValue();
                    byValue.computeIfAbsent(d, x -> new LongList()).add(id);
                    numbers.computeIfAbsent(f, x -> new ArrayList<>()).add(new double[] {d});
                    numberIds.computeIfAbsent(f, x -> new LongList()).add(id);
                } else if (v instanceof Boolean) {
                    kind = BOOLEAN;
                    byValue.computeIfAbsent(v, x -> new LongList()).add(id);
                } else {
                    kind = STRING;
                    byValue.computeIfAbsent(v, x -> new LongList()).add(id);
                }
                kinds.merge(f, kind, (a, b) -> a | b);
            }
        }
        Map<String, Field> out = new HashMap<>();
        for (Map.Entry<String, LongList> e : present.entrySet()) {
            Field fl = new Field();
            String f = e.getKey();
            fl.present = e.getValue().sorted();
            fl.kinds = kinds.get(f);
            values.get(f).forEach((v, l) -> fl.byValue.put(v, l.sorted()));
            if (numbers.containsKey(f)) {
                List<double[]> ds = numbers.get(f);
                long[] nid = numberIds.get(f).toArray();
                Integer[] order = new Integer[nid.length];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                Arrays.sort(order, (a, b) -> Double.compare(ds.get(a)[0], ds.get(b)[0]));
                fl.numbers = new double[nid.length];
                fl.numberIds = new long[nid.length];
                for (int i = 0; i < order.length; i++) {
                    fl.numbers[i] = ds.get(order[i])[0];
                    fl.numberIds[i] = nid[order[i]];
                }
            }
            out.put(f, fl);
        }
        long[] all = ids.clone();
        Arrays.sort(all);
        return new PayloadIndex(all, out, version);
    }

    /**
     * The ids the filter matches, ascending.
     *
     * @throws IllegalArgumentException for a field no record has (naming the fields there are) or a comparison of
     *     the wrong type (naming what the field holds)
     */
    long[] matching(Filter f) {
        if (f instanceof Filter.Eq e) {
            Field fl = field(e.field());
            checkScalar(e.field(), fl, e.value());
            return fl.byValue.getOrDefault(key(e.value()), new long[0]);
        }
        if (f instanceof Filter.In in) {
            Field fl = field(in.field());
            long[] acc = new long[0];
            for (Object v : in.values()) {
                checkScalar(in.field(), fl, v);
                acc = union(acc, fl.byValue.getOrDefault(key(v), new long[0]));
            }
            return acc;
        }
        if (f instanceof Filter.Range r) {
            Field fl = field(r.field());
            if ((fl.kinds & NUMBER) == 0) {
                throw new IllegalArgumentException("filter: '" + r.field() + "' holds " + kinds(fl.kinds)
                        + ", not numbers; a range compares numbers");
            }
            int from = r.low() == null ? 0 : bound(fl.numbers, r.low(), !r.lowInclusive());
            int to = r.high() == null ? fl.numbers.length : bound(fl.numbers, r.high(), r.highInclusive());
            if (from >= to) {
                return new long[0];
            }
            long[] ids = Arrays.copyOfRange(fl.numberIds, from, to);
            Arrays.sort(ids);
            return ids;
        }
        if (f instanceof Filter.Exists x) {
            Field fl = fields.get(x.field());
            return fl == null ? new long[0] : fl.present;
        }
        if (f instanceof Filter.And a) {
            long[] acc = null;
            for (Filter p : a.parts()) {
                long[] m = matching(p);
                acc = acc == null ? m : intersect(acc, m);
            }
            return acc;
        }
        if (f instanceof Filter.Or o) {
            long[] acc = new long[0];
            for (Filter p : o.parts()) {
                acc = union(acc, matching(p));
            }
            return acc;
        }
        return minus(all, matching(((Filter.Not) f).part()));
    }

    /** Fields and what they hold, for messages and docs. */
    Map<String, String> describe() {
        Map<String, String> out = new java.util.TreeMap<>();
        fields.forEach((k, v) -> out.put(k, kinds(v.kinds)));
        return out;
    }

    private Field field(String name) {
        Field fl = fields.get(name);
        if (fl == null) {
            throw new IllegalArgumentException("filter: no record has the field '" + name + "'"
                    + (fields.isEmpty() ? " (the records have no payload fields)"
                    : " (fields: " + String.join(", ", new TreeSet<>(fields.keySet()).stream().limit(20).toList())
                    + (fields.size() > 20 ? ", ..." : "") + ")"));
        }
        return fl;
    }

    private static void checkScalar(String name, Field fl, Object v) {
        int want = v instanceof Number ? NUMBER : v instanceof Boolean ? BOOLEAN : STRING | LIST;
        if ((fl.kinds & want) == 0) {
            throw new IllegalArgumentException("filter: '" + name + "' holds " + kinds(fl.kinds) + ", compared with "
                    + (v instanceof String s ? "the string \"" + s + "\"" : v instanceof Number ? "the number " + v : v));
        }
    }

    private static Object key(Object v) {
        return v instanceof Number n ? (Object) n.doubleValue() : v;
    }

    private static String kinds(int k) {
        List<String> out = new ArrayList<>();
        if ((k & STRING) != 0) {
            out.add("strings");
        }
        if ((k & NUMBER) != 0) {
            out.add("numbers");
        }
        if ((k & BOOLEAN) != 0) {
            out.add("booleans");
        }
        if ((k & LIST) != 0) {
            out.add("lists of strings");
        }
        return String.join(" and ", out);
    }

    /** First index whose value is > v (after) or >= v (not after). */
    private static int bound(double[] a, double v, boolean after) {
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < v || after && a[mid] == v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    static long[] intersect(long[] a, long[] b) {
        long[] out = new long[Math.min(a.length, b.length)];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < a.length && j < b.length) {
            if (a[i] < b[j]) {
                i++;
            } else if (a[i] > b[j]) {
                j++;
            } else {
                out[n++] = a[i];
                i++;
                j++;
            }
        }
        return Arrays.copyOf(out, n);
    }

    static long[] union(long[] a, long[] b) {
        if (a.length == 0) {
            return b;
        }
        if (b.length == 0) {
            return a;
        }
        long[] out = new long[a.length + b.length];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < a.length || j < b.length) {
            if (j == b.length || i < a.length && a[i] < b[j]) {
                out[n++] = a[i++];
            } else if (i == a.length || b[j] < a[i]) {
                out[n++] = b[j++];
            } else {
                out[n++] = a[i];
                i++;
                j++;
            }
        }
        return Arrays.copyOf(out, n);
    }

    static long[] minus(long[] a, long[] b) {
        long[] out = new long[a.length];
        int j = 0;
        int n = 0;
        for (long x : a) {
            while (j < b.length && b[j] < x) {
                j++;
            }
            if (j < b.length && b[j] == x) {
                continue;
            }
            out[n++] = x;
        }
        return Arrays.copyOf(out, n);
    }

    /** A growable list of longs. */
    private static final class LongList {
        private long[] a = new long[4];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(a, n);
        }

        long[] sorted() {
            long[] s = toArray();
            Arrays.sort(s);
            return s;
        }
    }
}
