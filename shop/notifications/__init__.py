"""An outbox of messages to buyers and suppliers, written in the transaction of the event, sent later."""
