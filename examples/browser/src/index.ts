/**
 * The in-browser classifier example: a static server for a page that decodes, preprocesses (Pillow-exact) and
 * classifies images with onnxruntime-web, entirely in the browser.
 * @module
 */

export { CHROMIUM_ARGS, chromiumPath, hasChromiumExecutable } from './chromium.js';
export { BrowserServerError, type BrowserServerErrorCode } from './errors.js';
export { defaultModelPath, type RunningServer, type ServerOptions, startServer } from './server.js';
