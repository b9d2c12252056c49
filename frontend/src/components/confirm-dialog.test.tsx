import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { ApiError } from "@/lib/api-error";

function Harness({ onConfirm }: { onConfirm: (reason: string) => Promise<unknown> | void }) {
  const [open, setOpen] = useState(true);
  return (
    <>
      <button onClick={() => setOpen(true)}>reopen</button>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title="Revoke token “ci”?"
        description="Requests using this token are refused from now on."
        confirmLabel="Revoke token"
        destructive
        requireReason
        onConfirm={onConfirm}
      />
    </>
  );
}

describe("ConfirmDialog", () => {
  it("refuses to confirm without a reason, then passes the reason on", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    render(<Harness onConfirm={onConfirm} />);

    const dialog = screen.getByRole("alertdialog", { name: "Revoke token “ci”?" });
    await user.click(screen.getByRole("button", { name: "Revoke token" }));
    expect(onConfirm).not.toHaveBeenCalled();
    expect(dialog).toHaveTextContent("Give a reason of at least 3 characters.");
    expect(screen.getByLabelText(/Reason/)).toHaveAttribute("aria-invalid", "true");

    await user.type(screen.getByLabelText(/Reason/), "  leaked in a CI log  ");
    await user.click(screen.getByRole("button", { name: "Revoke token" }));
    expect(onConfirm).toHaveBeenCalledWith("leaked in a CI log");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });

  it("keeps the dialog open and shows the API's problem when the action fails", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn().mockRejectedValue(
      new ApiError({ status: 409, title: "Conflict", detail: "This is the last admin binding.", remediation: "Make another admin first." }),
    );
    render(<Harness onConfirm={onConfirm} />);
    await user.type(screen.getByLabelText(/Reason/), "cleanup");
    await user.click(screen.getByRole("button", { name: "Revoke token" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("This is the last admin binding.");
    expect(dialog).toHaveTextContent("Make another admin first.");
  });

  it("starts with an empty reason every time it opens", async () => {
    const user = userEvent.setup();
    render(<Harness onConfirm={() => {}} />);
    await user.type(screen.getByLabelText(/Reason/), "first");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    await user.click(screen.getByRole("button", { name: "reopen" }));
    expect(screen.getByLabelText(/Reason/)).toHaveValue("");
  });
});
