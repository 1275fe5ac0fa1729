"""The campaign service: the city's plan as work — its milestones, renovation projects and public
consultation, disclosures and exposed problems, task-force reports, operators' self-inspections,
training and certificates, joint meetings and enforcement cases."""
