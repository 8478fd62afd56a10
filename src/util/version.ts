/** The program's name and version, written into every model file (a test checks it against package.json). */
export const PROGRAM = { name: 'pyramidflow', version: '0.2.0' } as const;
