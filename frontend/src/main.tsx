import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "@/app/app";
import { configureApiClient } from "@/lib/api";
import { installCspNonce } from "@/lib/csp";
import { queryClient } from "@/lib/query-client";
import { installThemeListener } from "@/lib/theme";
import "./index.css";

installCspNonce();
installThemeListener();
configureApiClient(queryClient);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
