-- Onboard a new user and trigger welcome email (the published reference's first workflow)

-- Step 1: Identify the user
app.integrations.vero.identify_user({
  id = "usr_456",
  email = "jane@example.com",
  name = "Jane Smith",
  data = {
    plan = "free",
    signup_date = "2025-06-15"
  }
})

-- Step 2: Track the signup event (triggers welcome campaign)
app.integrations.vero.track_event({
  identity = "usr_456",
  event_name = "Signed up",
  data = {
    source = "landing_page",
    plan = "free"
  }
})

print("onboarded usr_456")
