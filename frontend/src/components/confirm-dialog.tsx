import { useId, useState, type FormEvent, type ReactNode } from "react";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";

export interface ConfirmDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  /** Consequential actions ask why; the reason goes to the API (and so to the audit log). */
  requireReason?: boolean;
  reasonLabel?: string;
  /** Shown under the reason field; say where the reason goes. */
  reasonHint?: string;
  destructive?: boolean;
  /** Extra fields shown above the reason (e.g. which approval step). */
  children?: ReactNode;
  /** Resolve to close the dialog; reject to keep it open and show the error. */
  onConfirm: (reason: string) => Promise<unknown> | void;
}

export const MIN_REASON_LENGTH = 3;

export function ConfirmDialog(props: ConfirmDialogProps) {
  return (
    <Dialog open={props.open} onOpenChange={props.onOpenChange}>
      {/* Mounted only while open, so every opening starts with an empty reason. */}
      {props.open ? <ConfirmDialogBody {...props} /> : null}
    </Dialog>
  );
}

function ConfirmDialogBody({
  onOpenChange,
  title,
  description,
  confirmLabel,
  requireReason = false,
  reasonLabel = "Reason",
  reasonHint = "Recorded with the change in the audit log.",
  destructive = false,
  children,
  onConfirm,
}: ConfirmDialogProps) {
  const [reason, setReason] = useState("");
  const [touched, setTouched] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reasonId = useId();
  const hintId = useId();
  const trimmed = reason.trim();
  const reasonMissing = requireReason && trimmed.length < MIN_REASON_LENGTH;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (reasonMissing || pending) return;
    setPending(true);
    setError(null);
    try {
      await onConfirm(trimmed);
      onOpenChange(false);
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }

  return (
    <DialogContent role="alertdialog">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>{title}</DialogTitle>
          <DialogDescription>{description}</DialogDescription>
        </DialogHeader>
        {children}
        {requireReason ? (
          <div className="grid gap-2">
            <Label htmlFor={reasonId}>{reasonLabel} (required)</Label>
            <Textarea
              id={reasonId}
              value={reason}
              required
              aria-required="true"
              aria-invalid={touched && reasonMissing ? true : undefined}
              aria-describedby={hintId}
              onChange={(e) => setReason(e.target.value)}
              onBlur={() => setTouched(true)}
              placeholder="Why?"
            />
            <p id={hintId} className={touched && reasonMissing ? "text-sm text-danger" : "text-sm text-muted-foreground"}>
              {touched && reasonMissing
                ? `Give a reason of at least ${MIN_REASON_LENGTH} characters.`
                : reasonHint}
            </p>
          </div>
        ) : null}
        {error ? <ErrorState error={error} compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={() => onOpenChange(false)} disabled={pending}>
            Cancel
          </Button>
          <Button type="submit" variant={destructive ? "destructive" : "default"} disabled={pending}>
            {pending ? "Working…" : confirmLabel}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
