"""gunicorn config (-c) of tests/faults/test_worker_killed.py: the worker dies by SIGKILL right after the
payment provider has created a PaymentIntent and before the app has recorded it, once per flag file.

The kill window is real (a real PaymentIntent at localstripe, a real process dying with its transaction
unwritten); the hook only chooses the instant, which a kill from outside would hit by chance. The flag file
(KILL_AFTER_INTENT_FLAG) is removed by the one worker that dies, so each flag kills one worker once."""
import os
import signal


def post_worker_init(worker):
    from shop.payments.gateway import StripeGateway

    flag = os.environ["KILL_AFTER_INTENT_FLAG"]
    create_intent = StripeGateway.create_intent

    def create_then_die(self, **request):
        intent = create_intent(self, **request)
        try:
            os.remove(flag)
        except FileNotFoundError:
            return intent
        os.kill(os.getpid(), signal.SIGKILL)

    StripeGateway.create_intent = create_then_die
