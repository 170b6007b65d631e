package dev.latent.serve;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Reads one request's body as its chunks arrive, without a thread waiting for them: refused past
 * {@link HttpEndpoint.Options#maxBodyBytes} (413) or {@link HttpEndpoint.Options#bodyTimeout} (408), each time
 * closing the connection, and 400 when the body cannot be read; otherwise the whole body goes to {@code whole}.
 *
 * <p>One per exchange. Exactly one outcome happens: the reading (on Jetty's threads, one at a time as Jetty
 * demands) and the deadline (on the scheduler) race for it through one flag. The outcome owns the exchange's
 * response and callback: an error completes them here; {@code whole} takes them over with the body.
 */
final class BodyReader implements Runnable {
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final Scheduler scheduler;
    private final HttpEndpoint.Options options;
    private final Consumer<byte[]> whole;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final AtomicBoolean finished = new AtomicBoolean();
    private Scheduler.Task deadline;

    BodyReader(Request request, Response response, Callback callback, Scheduler scheduler,
            HttpEndpoint.Options options, Consumer<byte[]> whole) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.scheduler = scheduler;
        this.options = options;
        this.whole = whole;
    }

    /** Starts the body's deadline and reads what has arrived. */
    void read() {
        deadline = scheduler.schedule(this::expire, options.bodyTimeout().toMillis(), TimeUnit.MILLISECONDS);
        run();
    }

    private void expire() {
        if (finished.compareAndSet(false, true)) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            Responses.send(response, callback, 408, Responses.error("the request body did not arrive within "
                    + options.bodyTimeout().toSeconds() + " s"));
        }
    }

    /** Reads what has arrived; asks to be called again when more does. */
    @Override
    public void run() {
        while (!finished.get()) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                request.demand(this);
                return;
            }
            if (Content.Chunk.isFailure(chunk)) {
                if (finish()) {
                    Responses.fail(response, callback, new HttpError(400, "the request body could not be read: "
                            + chunk.getFailure()));
                }
                return;
            }
            ByteBuffer b = chunk.getByteBuffer();
            if (bytes.size() + (long) b.remaining() > options.maxBodyBytes()) {
                chunk.release();
                if (finish()) {
                    response.getHeaders().put(HttpHeader.CONNECTION, "close");
                    Responses.fail(response, callback, new HttpError(413, "request body is larger than the limit of "
                            + options.maxBodyBytes() + " bytes"));
                }
                return;
            }
            byte[] part = new byte[b.remaining()];
            b.get(part);
            bytes.write(part, 0, part.length);
            boolean last = chunk.isLast();
            chunk.release();
            if (last) {
                if (finish()) {
                    whole.accept(bytes.toByteArray());
                }
                return;
            }
        }
    }

    private boolean finish() {
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        deadline.cancel();
        return true;
    }
}
