/** Errors of the HTTP edge and their one mapping to error bodies. */
export { HttpError } from "./http-error.ts";
export { errorResponse } from "./to-response.ts";
