/**
 * What Grafana's dashboard draws around a panel, reduced to what a panel can observe: the theme
 * context, a sized container per panel, and an error boundary (Grafana's panel chrome catches a
 * panel's render errors and shows them in the panel instead of breaking the dashboard).
 */
import { Component, type ComponentType, type ReactNode } from 'react';
import { ThemeContext, type GrafanaTheme2, type PanelProps } from '@grafana/data';

interface BoundaryProps {
  readonly onError: (error: unknown) => void;
  readonly children: ReactNode;
}

class PanelErrorBoundary extends Component<BoundaryProps, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: unknown): void {
    this.props.onError(error);
  }

  override render(): ReactNode {
    return this.state.failed ? <div className="panel-error">panel failed</div> : this.props.children;
  }
}

export interface DashboardViewProps {
  readonly theme: GrafanaTheme2;
  readonly panel: ComponentType<PanelProps>;
  readonly panels: readonly PanelProps[];
  readonly onPanelError: (error: unknown) => void;
}

export function DashboardView({ theme, panel: Panel, panels, onPanelError }: DashboardViewProps): ReactNode {
  return (
    <ThemeContext.Provider value={theme}>
      {panels.map((props) => (
        <div
          key={props.id}
          className="panel-container"
          data-panel-id={props.id}
          style={{ width: props.width, height: props.height }}
        >
          <PanelErrorBoundary onError={onPanelError}>
            <Panel {...props} />
          </PanelErrorBoundary>
        </div>
      ))}
    </ThemeContext.Provider>
  );
}
