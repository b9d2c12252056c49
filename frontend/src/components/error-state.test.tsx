import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ErrorState } from "@/components/error-state";
import { ApiError, toApiError } from "@/lib/api-error";

describe("ErrorState", () => {
  it("shows the problem's title, detail, remediation, field errors and trace id", () => {
    const error = toApiError(
      {
        type: "https://maestro.dev/problems/invalid-request",
        title: "Invalid request",
        status: 422,
        detail: "The body has 1 invalid field.",
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        remediation: "Correct the fields listed in `errors` and send the request again.",
        errors: [{ field: "name", message: "field required" }],
      },
      new Response(null, { status: 422 }),
    );
    render(<ErrorState error={error} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Invalid request");
    expect(alert).toHaveTextContent("(HTTP 422)");
    expect(screen.getByTestId("problem-detail")).toHaveTextContent("The body has 1 invalid field.");
    expect(screen.getByTestId("problem-remediation")).toHaveTextContent(
      "What to do: Correct the fields listed in `errors` and send the request again.",
    );
    expect(alert).toHaveTextContent("name: field required");
    expect(alert).toHaveTextContent("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("explains a network failure and offers a retry", async () => {
    const onRetry = vi.fn();
    render(<ErrorState error={toApiError(new TypeError("Failed to fetch"))} title="Could not load tokens" onRetry={onRetry} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Could not load tokens");
    expect(screen.getByTestId("problem-remediation")).toHaveTextContent("maestro up");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(onRetry).toHaveBeenCalledOnce();
  });

  it("reads Retry-After on 429", () => {
    const e = toApiError(
      { title: "Too many requests", status: 429, detail: "Too many failed logins." },
      new Response(null, { status: 429, headers: { "Retry-After": "30" } }),
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e.retryAfter).toBe(30);
  });
});
