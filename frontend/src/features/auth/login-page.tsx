import { useMutation, useQueryClient } from "@tanstack/react-query";
import { LogInIcon } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { authLoginMutation, authMeQueryKey } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { asProblem } from "@/lib/api-error";
import { ThemeToggle } from "@/features/shell/theme-toggle";

/** Only same-app paths are followed after login (no open redirect). */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function LoginPage() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [missing, setMissing] = useState<{ username?: boolean; password?: boolean }>({});
  const userId = useId();
  const passId = useId();
  const usernameRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = "Sign in · Maestro";
    // The page is the sign-in form: start in its first field (unless the user already moved on).
    if (document.activeElement === document.body || document.activeElement === null) usernameRef.current?.focus();
  }, []);

  const login = useMutation({
    ...authLoginMutation(),
    onSuccess: (session) => {
      // The session (with its CSRF token) is cached where /api/auth/me would put it.
      queryClient.setQueryData(authMeQueryKey(), session);
      navigate(safeNext(params.get("next")), { replace: true });
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const m = { username: !username.trim(), password: !password };
    setMissing(m);
    if (m.username || m.password) return;
    login.mutate({ body: { username: username.trim(), password } });
  }

  const problem = login.error ? asProblem(login.error) : null;

  return (
    <main id="main" className="flex min-h-screen flex-col items-center justify-center gap-6 bg-muted/40 p-4">
      <div className="absolute top-3 right-3">
        <ThemeToggle />
      </div>
      <Card className="w-full max-w-sm">
        <CardHeader>
          <h1 className="text-xl font-semibold">Sign in to Maestro</h1>
          <CardDescription>Use the admin credentials printed by maestro up, or your own account.</CardDescription>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={submit} noValidate>
            <div className="grid gap-2">
              <Label htmlFor={userId}>Username</Label>
              <Input
                ref={usernameRef}
                id={userId}
                name="username"
                autoComplete="username"
                autoCapitalize="none"
                spellCheck={false}
                value={username}
                aria-invalid={missing.username || undefined}
                aria-describedby={missing.username ? `${userId}-err` : undefined}
                onChange={(e) => setUsername(e.target.value)}
                required
              />
              {missing.username ? (
                <p id={`${userId}-err`} className="text-sm text-danger">
                  Enter your username.
                </p>
              ) : null}
            </div>
            <div className="grid gap-2">
              <Label htmlFor={passId}>Password</Label>
              <Input
                id={passId}
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                aria-invalid={missing.password || undefined}
                aria-describedby={missing.password ? `${passId}-err` : undefined}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
              {missing.password ? (
                <p id={`${passId}-err`} className="text-sm text-danger">
                  Enter your password.
                </p>
              ) : null}
            </div>
            {problem ? (
              <ErrorState
                compact
                error={problem}
                title={
                  problem.status === 401
                    ? "Wrong username or password"
                    : problem.status === 429
                      ? `Too many attempts${problem.retryAfter ? `: try again in ${problem.retryAfter} s` : ""}`
                      : "Could not sign in"
                }
              />
            ) : null}
            <Button type="submit" disabled={login.isPending}>
              <LogInIcon aria-hidden="true" />
              {login.isPending ? "Signing in…" : "Sign in"}
            </Button>
          </form>
        </CardContent>
      </Card>
    </main>
  );
}

export const Component = LoginPage;
