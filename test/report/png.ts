import { inflateSync } from 'node:zlib';

/**
 * A minimal PNG decoder for screenshots (8-bit RGB or RGBA, not interlaced):
 * enough to count chart pixels without adding an image library.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes per pixel */
  readonly pixels: Uint8Array;
}

export function decodePng(file: Buffer): Image {
  if (file.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (offset < file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    const data = file.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      colorType = data[9]!;
      if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) throw new Error(`unsupported PNG (bit depth ${bitDepth}, color type ${colorType}, interlace ${data[12]})`);
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    offset += 12 + length;
  }
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      let v = line[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set([cur[x * channels]!, cur[x * channels + 1]!, cur[x * channels + 2]!, channels === 4 ? cur[x * channels + 3]! : 255], (y * width + x) * 4);
    }
    prev = cur;
  }
  return { width, height, pixels: out };
}

/** Pixels within `tolerance` of a `#rrggbb` color, with the bounding box of their rows. */
export function countColor(image: Image, hex: string, tolerance = 8): { count: number; top: number; bottom: number } {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let count = 0;
  let top = Infinity;
  let bottom = -Infinity;
  for (let i = 0; i < image.width * image.height; i++) {
    const p = i * 4;
    if (Math.abs(image.pixels[p]! - r) <= tolerance && Math.abs(image.pixels[p + 1]! - g) <= tolerance && Math.abs(image.pixels[p + 2]! - b) <= tolerance) {
      count++;
      const y = Math.floor(i / image.width);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return { count, top, bottom };
}
