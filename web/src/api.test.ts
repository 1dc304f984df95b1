import { describe, expect, it } from "vitest";
import { ApiError, errorDetail, errorMessage, responseError } from "./api";

describe("responseError", () => {
  it("uses the server's message as the message", () => {
    const error = responseError("POST", "/api/login", 401, "Unauthorized", { error: "invalid username or password" });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe("invalid username or password");
    expect(error.status).toBe(401);
  });

  it("keeps the request and status in detail", () => {
    const error = responseError("POST", "/api/config/import", 400, "Bad Request", { error: "passphrase: missing" });
    expect(error.message).toBe("passphrase: missing");
    expect(error.detail).toBe("POST /api/config/import failed (400)");
    expect(errorDetail(error)).toBe("POST /api/config/import failed (400)");
    expect(errorMessage(error)).toBe("passphrase: missing");
  });

  it("reads a short plain-text body", () => {
    const error = responseError("GET", "/api/state", 500, "Internal Server Error", "database is locked");
    expect(error.message).toBe("database is locked");
  });

  it("falls back to the status text, then the status", () => {
    expect(responseError("GET", "/api/state", 502, "Bad Gateway", null).message).toBe("Bad Gateway");
    expect(responseError("GET", "/api/state", 502, "", null).message).toBe("The request failed with HTTP status 502.");
  });

  it("names a route the server lacks", () => {
    const error = responseError("GET", "/api/new", 404, "Not Found", { error: "Not Found" });
    expect(error.message).toBe("This Pulse server does not offer GET /api/new (404).");
    expect(error.detail).toBe("GET /api/new failed (404)");
  });

  it("keeps a missing item's own 404 message", () => {
    const error = responseError("DELETE", "/api/alerts/x", 404, "Not Found", { error: "alert x not found" });
    expect(error.message).toBe("alert x not found");
  });
});

describe("errorDetail", () => {
  it("is empty for other errors", () => {
    expect(errorDetail(new Error("boom"))).toBe("");
    expect(errorDetail("text")).toBe("");
  });
});
