import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { authLogoutMutation } from "@/client/@tanstack/react-query.gen";
import { toastError } from "@/lib/toast";

export function useSignOut() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const mutation = useMutation({
    ...authLogoutMutation(),
    onSuccess: () => {
      queryClient.clear();
      navigate("/login", { replace: true });
    },
    onError: (error) => toastError(error, "Could not sign out"),
  });
  return { signOut: () => mutation.mutate({}), isPending: mutation.isPending };
}
