package dev.latent.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Writing answers: every response of the endpoint, errors included, is one JSON body with its length, written in
 * one piece, after which Jetty completes the exchange's callback. Errors are {@code {"error": "..."}}, with
 * {@code Retry-After} on 503 and {@code Allow} on 405.
 *
 * <p>Stateless; any thread may call these, once per exchange (the response and its callback are the exchange's,
 * and writing completes it).
 */
final class Responses {
    private Responses() {
    }

    /** Answers {@code body} with {@code status}. */
    static void send(Response response, Callback callback, int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = JsonBodies.JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** Sends {@code text} with {@code contentType}. */
    static void sendText(Response response, Callback callback, int status, String text, String contentType) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** The body of an error: {@code {"error": message}}. */
    static ObjectNode error(String message) {
        return JsonBodies.JSON.createObjectNode().put("error", message);
    }

    /** Answers a refused request: its status and message, and the header that status calls for. */
    static void fail(Response response, Callback callback, HttpError e) {
        fail(response, callback, e, error(e.getMessage()));
    }

    /** As {@link #fail(Response, Callback, HttpError)}, with the body in another shape (OpenAI's, for example). */
    static void fail(Response response, Callback callback, HttpError e, JsonNode body) {
        if (e.status == 503) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (e.status == 405) {
            response.getHeaders().put(HttpHeader.ALLOW, e.getMessage().contains("POST") ? "POST" : "GET");
        }
        send(response, callback, e.status, body);
    }

    /** Answers a failure of the endpoint itself: logged, and 500 with what was thrown. */
    static void internalError(Response response, Callback callback, Throwable e) {
        HttpEndpoint.LOG.warn("request failed", e);
        send(response, callback, 500, error("internal error: " + e));
    }

    /** Errors Jetty answers itself (headers too large, a malformed request line): JSON like every other error. */
    static boolean jettyError(Request request, Response response, Callback callback) {
        Object status = request.getAttribute(ErrorHandler.ERROR_STATUS);
        Object message = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
        int code = status instanceof Integer i ? i : 500;
        String text = message == null ? HttpStatus.getMessage(code) : message.toString();
        send(response, callback, code, error(text));
        return true;
    }
}
