import { fireEvent, screen } from "@testing-library/react";
import { useState } from "react";
import { adminSession, renderWithProviders } from "@/test/utils";
import type { RunDetail } from "./queries";
import { RunControls } from "./run-controls";

const running = { id: "r1", status: "running", paused: false, steps: [], pipelineName: "web", number: 3 } as unknown as RunDetail;
const paused = { ...running, status: "paused", paused: true } as RunDetail;

/** The run as a refetch brings it: the hidden button flips it without taking focus (fireEvent). */
function Harness() {
  const [run, setRun] = useState(running);
  return (
    <>
      <RunControls run={run} />
      <button type="button" hidden onClick={() => setRun((r) => (r.paused ? running : paused))}>
        refetched
      </button>
    </>
  );
}

describe("RunControls", () => {
  it("keeps Pause and Resume in one element, so focus stays on it when the run's state flips", () => {
    renderWithProviders(<Harness />, { session: adminSession });
    const button = screen.getByRole("button", { name: "Pause" });
    const refetched = screen.getByText("refetched");
    button.focus();
    fireEvent.click(refetched);
    expect(screen.getByRole("button", { name: "Resume" })).toBe(button);
    expect(document.activeElement).toBe(button);
    fireEvent.click(refetched);
    expect(screen.getByRole("button", { name: "Pause" })).toBe(button);
  });
});
