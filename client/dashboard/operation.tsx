/** Runs one operator action at a time and keeps its outcome for display. */
import { useCallback, useState } from 'react';
import { problemText } from './format.js';

/** What the operator sees after an action. */
export interface Feedback {
  text: string;
  failed: boolean;
}

/** `run(id, fn)`: marks `id` busy, shows `fn`'s message, or the problem's detail when it throws. */
export function useOperation() {
  const [busy, setBusy] = useState<string>();
  const [feedback, setFeedback] = useState<Feedback>();
  const run = useCallback(async (id: string, fn: () => Promise<string>) => {
    setBusy(id);
    setFeedback(undefined);
    try {
      setFeedback({ text: await fn(), failed: false });
    } catch (e) {
      setFeedback({ text: problemText(e), failed: true });
    } finally {
      setBusy(undefined);
    }
  }, []);
  return { busy, feedback, run };
}

/** The feedback line (role=status for success, role=alert for failures). */
export function FeedbackLine(props: { feedback: Feedback | undefined; testId?: string }) {
  const { feedback } = props;
  if (!feedback) return null;
  return (
    <p role={feedback.failed ? 'alert' : 'status'} className={feedback.failed ? 'error' : 'ok'} data-testid={props.testId}>
      {feedback.text}
    </p>
  );
}
