import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { Dialog, DialogContent, DialogTitle } from "@/components/ui/dialog";
import { captureFocus, restoreFocus } from "@/lib/focus-return";

/** A toolbar whose "Approve…" asks first and, once approved, is replaced (as when a run moves on). */
function Toolbar({ onConfirm = async () => {} }: { onConfirm?: () => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [approved, setApproved] = useState(false);
  return (
    <main id="main" tabIndex={-1}>
      <div role="group" aria-label="Run actions">
        {approved ? null : <button onClick={() => setOpen(true)}>Approve…</button>}
        <button>Cancel run…</button>
      </div>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title="Approve deploy #3?"
        description="The gate opens."
        confirmLabel="Approve"
        onConfirm={async () => {
          await onConfirm();
          setApproved(true);
        }}
      />
    </main>
  );
}

describe("focus returns to the invoking control when a dialog closes", () => {
  it("after Escape, to the button that opened it", async () => {
    const user = userEvent.setup();
    render(<Toolbar />);
    await user.tab();
    const approve = screen.getByRole("button", { name: "Approve…" });
    expect(approve).toHaveFocus();
    await user.keyboard("{Enter}");
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toContainElement(document.activeElement as HTMLElement);
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    await waitFor(() => expect(approve).toHaveFocus());
  });

  it("after confirming, to the control left in its place when the invoker is gone", async () => {
    const user = userEvent.setup();
    render(<Toolbar />);
    await user.tab();
    await user.keyboard("{Enter}");
    await screen.findByRole("alertdialog");
    await user.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    expect(screen.queryByRole("button", { name: "Approve…" })).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("button", { name: "Cancel run…" })).toHaveFocus());
  });

  it("a plain dialog (and the palette, which uses it) gives focus back too", async () => {
    const user = userEvent.setup();
    function Shell() {
      const [open, setOpen] = useState(false);
      return (
        <>
          <button onClick={() => setOpen(true)}>Commands</button>
          <Dialog open={open} onOpenChange={setOpen}>
            <DialogContent aria-describedby={undefined}>
              <DialogTitle>Command palette</DialogTitle>
              <input aria-label="Search" />
            </DialogContent>
          </Dialog>
        </>
      );
    }
    render(<Shell />);
    const commands = screen.getByRole("button", { name: "Commands" });
    commands.focus();
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getByLabelText("Search")).toHaveFocus());
    await user.keyboard("{Escape}");
    await waitFor(() => expect(commands).toHaveFocus());
  });
});

describe("a dialog that replaces another", () => {
  it("gives focus back to the control that opened the first one (create token → its secret)", async () => {
    const user = userEvent.setup();
    function Tokens() {
      const [step, setStep] = useState<"none" | "form" | "secret">("none");
      return (
        <>
          <button onClick={() => setStep("form")}>Create token</button>
          <Dialog open={step === "form"} onOpenChange={(o) => setStep(o ? "form" : "none")}>
            {step === "form" ? (
              <DialogContent aria-describedby={undefined}>
                <DialogTitle>Create token</DialogTitle>
                <input aria-label="Name" />
                <button onClick={() => setStep("secret")}>Create</button>
              </DialogContent>
            ) : null}
          </Dialog>
          <Dialog open={step === "secret"} onOpenChange={(o) => setStep(o ? "secret" : "none")}>
            {step === "secret" ? (
              <DialogContent aria-describedby={undefined}>
                <DialogTitle>Token created</DialogTitle>
                <button onClick={() => setStep("none")}>I have stored the secret</button>
              </DialogContent>
            ) : null}
          </Dialog>
        </>
      );
    }
    render(<Tokens />);
    const create = screen.getByRole("button", { name: "Create token" });
    create.focus();
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getByLabelText("Name")).toHaveFocus());
    await user.click(screen.getByRole("button", { name: "Create" }));
    const stored = await screen.findByRole("button", { name: "I have stored the secret" });
    await waitFor(() => expect(stored).toHaveFocus());
    await user.keyboard("{Enter}");
    await waitFor(() => expect(create).toHaveFocus());
  });
});

describe("restoreFocus", () => {
  it("leaves focus alone when something else took it meanwhile (a navigation focused the page)", () => {
    render(
      <>
        <button>opener</button>
        <main id="main" tabIndex={-1}>
          page
        </main>
      </>,
    );
    screen.getByRole("button", { name: "opener" }).focus();
    const origin = captureFocus();
    screen.getByRole("main").focus();
    restoreFocus(origin)();
    expect(screen.getByRole("main")).toHaveFocus();
  });

  it("hands focus on when the restored control is removed soon after", async () => {
    function Later() {
      const [paused, setPaused] = useState(false);
      return (
        <div role="group" aria-label="Rollout actions">
          {paused ? null : <button onClick={() => setPaused(true)}>Pause</button>}
          <button>Promote</button>
        </div>
      );
    }
    render(<Later />);
    const pause = screen.getByRole("button", { name: "Pause" });
    pause.focus();
    const origin = captureFocus();
    pause.blur();
    const stop = restoreFocus(origin);
    expect(pause).toHaveFocus();
    act(() => pause.click());
    await waitFor(() => expect(screen.getByRole("button", { name: "Promote" })).toHaveFocus());
    stop();
  });

  it("waits for a control still disabled by the request that closed the dialog", async () => {
    render(<button disabled>Resume</button>);
    const button = screen.getByRole<HTMLButtonElement>("button", { name: "Resume" });
    const origin = { element: button, ancestors: [] };
    const stop = restoreFocus(origin);
    expect(button).not.toHaveFocus();
    button.disabled = false;
    await waitFor(() => expect(button).toHaveFocus());
    stop();
  });
});
