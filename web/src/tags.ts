// Proxmox tag colours. Proxmox VE's web UI (proxmox-widget-toolkit, Utils.stringToRGB) derives a
// tag's background from a hash of the tag text plus "prox", blended 30% towards white, and picks
// black or white text by luminance. Doing the same here keeps a tag the colour users know from PVE.

export function tagBackground(tag: string): [number, number, number] {
  let hash = 0;
  const text = `${tag}prox`;
  for (let i = 0; i < text.length; i += 1) {
    hash = text.charCodeAt(i) + ((hash << 5) - hash);
    hash |= 0;
  }
  const alpha = 0.7;
  const white = 255 * (1 - alpha);
  return [
    Math.round((hash & 255) * alpha + white),
    Math.round(((hash >> 8) & 255) * alpha + white),
    Math.round(((hash >> 16) & 255) * alpha + white),
  ];
}

/** "dark" when the background needs black text, "light" for white text. */
export function tagContrast([red, green, blue]: [number, number, number]): "dark" | "light" {
  const luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255;
  return luminance > 0.5 ? "dark" : "light";
}

export function tagColors(tag: string): { background: string; color: string } {
  const rgb = tagBackground(tag);
  return {
    background: `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`,
    color: tagContrast(rgb) === "dark" ? "#000" : "#fff",
  };
}
