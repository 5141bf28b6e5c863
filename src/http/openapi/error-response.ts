import { z } from "zod";
import type { ErrorCode } from "../../errors.js";
import type { ResponseDescription } from "./route-description.js";

/** The one error shape of every HTTP answer, narrowed to the codes a given status carries. */
export function errorBodySchema(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      path: z.string().optional().describe("Where in the input the problem is, for example `[3].amount`"),
    }),
  });
}

export function errorResponse(description: string, ...codes: [ErrorCode, ...ErrorCode[]]): ResponseDescription {
  return { description: `${description} (${codes.join(", ")})`, schema: errorBodySchema(codes) };
}
