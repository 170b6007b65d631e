/**
 * Maps of a corpus for people: {@link dev.latent.analyse.map.MapData} (points placed in two dimensions, with
 * ids, texts, segments and outliers) drawn as a PNG scatter plot ({@link dev.latent.analyse.map.MapPng}, with
 * XChart) or as one self-contained interactive HTML page ({@link dev.latent.analyse.map.MapHtml}: canvas,
 * hover, search, legend, pan and zoom; no network when viewed). Both sample large maps with a fixed seed and
 * say so. {@link dev.latent.analyse.map.MapJob} makes a whole map from vectors (segments, outliers, a
 * 2-D layout from elsewhere in {@code analyse}) and writes the PNG and the page together.
 */
package dev.latent.analyse.map;
