/**
 * Maps of a corpus for people: {@link dev.latent.analyse.map.MapData} (points placed in two dimensions, with
 * ids, texts, segments and outliers) drawn as a PNG scatter plot ({@link dev.latent.analyse.map.MapPng}, with
 * XChart) or as one self-contained interactive HTML page ({@link dev.latent.analyse.map.MapHtml}: canvas,
 * hover, search, legend, pan and zoom; no network when viewed). Both sample large maps with a fixed seed and
 * say so. Rendering only: the projection to two dimensions and the segments come from elsewhere in
 * {@code analyse}.
 */
package dev.latent.analyse.map;
