export type EngineName = 'chromium' | 'firefox' | 'webkit';
export const ENGINES: EngineName[];
export const CHROMIUM_PATH: string;
export const FIREFOX_PATH: string;
export const WEBKIT_DRIVER_PATH: string;
export const MINIBROWSER_PATH: string;
export const CHROMIUM_ARGS: string[];
export const WEBKIT_CAPABILITIES: Record<string, unknown>;
export function startWebKitDriver(): Promise<{ hostname: string; port: number; stop(): Promise<void> }>;
