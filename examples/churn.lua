-- Handle a user leaving (the published reference's third workflow)

-- Track churn event
app.integrations.vero.track_event({
  identity = "usr_456",
  event_name = "Cancelled subscription",
  data = {
    reason = "too_expensive",
    last_plan = "premium"
  }
})

-- Unsubscribe from emails
app.integrations.vero.unsubscribe({
  id = "usr_456"
})

print("unsubscribed usr_456")
