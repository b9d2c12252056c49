import { FileQuestionIcon } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        icon={FileQuestionIcon}
        title="Nothing lives at this address"
        description="Check the link, or open the command palette (Ctrl K / ⌘K) to find the page or the entity you are after."
        action={
          <Button asChild>
            <EnvLink to="/">Go to the Control Hub</EnvLink>
          </Button>
        }
      />
    </>
  );
}

export const Component = NotFoundPage;
