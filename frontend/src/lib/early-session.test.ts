import { ApiError } from "@/lib/api-error";
import { readEarlySession, takeEarlySession } from "./early-session";

describe("the session request started from <head> (src/boot.js)", () => {
  afterEach(() => {
    window.__maestroSession = undefined;
    window.__maestroSessionAt = undefined;
  });

  it("is taken once: the first session query uses it, later ones ask again", () => {
    const early = Promise.resolve(new Response("{}"));
    window.__maestroSession = early;
    window.__maestroSessionAt = Date.now();
    expect(takeEarlySession()).toBe(early);
    expect(takeEarlySession()).toBeUndefined();
  });

  it("is not trusted once it is old (the first session query came long after, e.g. past a sign-in)", () => {
    window.__maestroSession = Promise.resolve(new Response("{}", { status: 401 }));
    window.__maestroSessionAt = Date.now() - 60_000;
    expect(takeEarlySession()).toBeUndefined();
    expect(window.__maestroSession).toBeUndefined();
  });

  it("reads as the generated client would: the session, or the problem as an ApiError", async () => {
    const session = { user: { id: "u1", username: "ada" }, csrfToken: "c", permissions: ["admin:*"], auth: "session" };
    expect(await readEarlySession(new Response(JSON.stringify(session), { status: 200 }))).toEqual(session);

    const problem = { type: "about:blank", title: "Unauthorized", status: 401, detail: "Sign in first." };
    const refused = readEarlySession(
      new Response(JSON.stringify(problem), { status: 401, headers: { "Content-Type": "application/problem+json" } }),
    );
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toMatchObject({ status: 401, detail: "Sign in first." });
  });
});
