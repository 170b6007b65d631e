/**
 * ONNX models of any shape: {@link dev.latent.encode.onnx.OnnxModel} opens one session (execution provider
 * chosen and logged) and runs it on named tensors of any element type ({@link dev.latent.encode.onnx.Feeds}
 * in, {@link dev.latent.encode.onnx.Outputs} out). The only package of Latent that touches ONNX Runtime; the
 * text, image and tabular encoders check what a model's tensors mean and build on it.
 */
package dev.latent.encode.onnx;
