// The shapes world's vocabulary: the kinds of shape, the named colours (far apart in RGB, so a tiny vision
// tower can tell them apart at 64 px), the size classes (radius as a fraction of the image's shorter side),
// and the background palette (muted tones no shape colour comes close to).

export const SHAPE_KINDS = ['square', 'circle', 'triangle', 'star', 'hexagon', 'diamond'] as const;
export type ShapeKind = typeof SHAPE_KINDS[number];

export const COLOURS = {
  red: [220, 30, 30], green: [30, 170, 50], blue: [30, 70, 220], yellow: [240, 210, 20],
  purple: [140, 40, 180], orange: [245, 130, 20], cyan: [20, 200, 210], black: [20, 20, 20],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

export const SIZES = ['small', 'medium', 'large'] as const;
export type SizeName = typeof SIZES[number];
/** Circumradius range per size class, as a fraction of the image's shorter side. The gaps keep the classes apart. */
export const SIZE_RADIUS: Record<SizeName, [number, number]> = { small: [0.075, 0.095], medium: [0.12, 0.145], large: [0.175, 0.21] };

/** Background tones: light and mid greys, beige, slate; a textured background alternates two near tones. */
export const BACKGROUND_TONES: readonly (readonly [number, number, number])[] = [
  [235, 232, 220], [200, 200, 200], [150, 150, 150], [190, 200, 215], [215, 205, 180], [110, 115, 120],
];

export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'];

export function capitalise(s: string): string { return s.charAt(0).toUpperCase() + s.slice(1); }
