"""Integration tests: every module and the inventory plugin, run by ansible-playbook / ansible-inventory /
ansible-doc as subprocesses against one simulator per test session (per xdist worker, --time-scale 5000).

How a test runs: helpers.PlaybookRunner writes a playbook into the test's tmp dir and runs ansible-playbook
with AWS_URL pointing at the simulator and dummy credentials; the test-only callback
callback_plugins/drs_it_record.py records every task's result, read back as run.ok(name) / run.failed(name).
Each test resets the simulator and loads its own estate; results are checked against the AWS state read with
boto3 and against the simulator's request log (check mode and refusals: no mutating call).

Run: .venv/bin/python -m pytest tests/integration -q -n 2 -p no:pytest-ansible

OPTION COVERAGE TABLE: every documented option -> the tests that exercise it and fail if it were ignored
(test_docs.py::test_option_coverage_table_is_complete checks that every option of every module and of the
inventory plugin is listed and that each test named exists). "*" = every module (not the inventory plugin) not listed with its own rows for that option.
"NOT VERIFIABLE" = cannot be observed against the simulator. Only drs_instance_match,
drs_reverse_replication, drs_preflight, drs_failback_standby and drs_wave take the primary-region options (source_region, source_role_arn,
source_external_id).

Module                  | Option                        | Tests (tests/integration/...)
----------------------- | ----------------------------- | ----------------------------------------------------
drs_instance_match      | names                         | test_drs_instance_match.py::test_match_all_and_filters
drs_instance_match      | waves                         | test_drs_instance_match.py::test_waves_matched_in_one_read_and_returned_wave_by_wave
drs_instance_match      | source_server_ids             | test_drs_instance_match.py::test_match_all_and_filters
drs_instance_match      | overrides                     | test_drs_instance_match.py::test_match_unmatched_ambiguous_invalid_and_overrides
drs_instance_match      | match_tag                     | test_drs_instance_match.py::test_match_tag_wave_tag_and_strictness
drs_instance_match      | wave_tag                      | test_drs_instance_match.py::test_match_tag_wave_tag_and_strictness
drs_instance_match      | require_stopped               | test_drs_instance_match.py::test_match_tag_wave_tag_and_strictness
drs_instance_match      | require_same_private_ip       | test_drs_instance_match.py::test_match_tag_wave_tag_and_strictness
drs_instance_match      | fallback_to_drs_records       | test_drs_instance_match.py::test_fallback_to_drs_records_when_primary_region_unreadable
drs_instance_match      | fail_on_unmatched             | test_drs_instance_match.py::test_match_unmatched_ambiguous_invalid_and_overrides
drs_instance_match      | source_region                 | test_drs_instance_match.py::test_match_all_and_filters (name_from source_instance)
drs_instance_match      | source_region                 | test_drs_instance_match.py::test_fallback_to_drs_records_when_primary_region_unreadable
drs_instance_match      | source_role_arn               | test_cross_account.py::test_source_role_for_primary_region_reads
drs_instance_match      | source_external_id            | test_cross_account.py::test_source_role_for_primary_region_reads
drs_launch_config       | servers                       | test_drs_launch_config.py::test_check_diff_apply_idempotent
drs_launch_config       | servers                       | test_drs_launch_config.py::test_refusals_come_before_any_change
drs_launch_config       | state                         | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | launch_disposition            | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | right_sizing                  | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | copy_private_ip               | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | copy_private_ip               | test_drs_launch_config.py::test_refusals_come_before_any_change
drs_launch_config       | copy_tags                     | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | copy_tags                     | test_drs_launch_config.py::test_refusals_come_before_any_change
drs_launch_config       | os_byol                       | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | post_launch_enabled           | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | validate_targets              | test_drs_launch_config.py::test_every_setting_lands_in_the_launch_configuration
drs_launch_config       | from_template                 | test_drs_launch_template.py::test_template_check_diff_apply_idempotent_then_failback_servers_need_no_call
drs_launch_config       | from_template                 | test_drs_launch_template.py::test_refusals_come_before_any_change
drs_launch_config       | from_template                 | test_failback_playbook.py::test_multi_wave_failback_end_to_end_check_and_resume (through drs_wave: launch_config.configure_servers, which the module is a face of)
drs_launch_config       | template                      | test_drs_launch_template.py::test_template_check_diff_apply_idempotent_then_failback_servers_need_no_call
drs_launch_config       | template                      | test_drs_launch_template.py::test_refusals_come_before_any_change
drs_launch_template     | template_id                   | test_drs_launch_template.py::test_refusals_come_before_any_change
drs_launch_template     | launch_disposition            | test_drs_launch_template.py::test_template_check_diff_apply_idempotent_then_failback_servers_need_no_call
drs_launch_template     | right_sizing                  | test_drs_launch_template.py::test_template_check_diff_apply_idempotent_then_failback_servers_need_no_call
drs_recovery            | servers                       | test_drs_recovery.py::test_recovery_end_to_end_check_mode_and_adoption
drs_recovery            | waited_seconds                | test_drs_recovery.py::test_timeout_then_rerun_adopts_the_running_job (set by the action plugin, counted against wait_timeout)
drs_recovery            | servers                       | test_drs_recovery.py::test_stop_targets (targets read from the launch configuration)
drs_recovery            | servers                       | test_drs_recovery.py::test_refusals_come_before_any_change
drs_recovery            | mode                          | test_drs_recovery.py::test_drill_without_waiting_split_into_jobs
drs_recovery            | execution_id                  | test_drs_recovery.py::test_recovery_end_to_end_check_mode_and_adoption
drs_recovery            | execution_id                  | test_drs_recovery.py::test_timeout_then_rerun_adopts_the_running_job
drs_recovery            | wave                          | test_drs_recovery.py::test_drill_without_waiting_split_into_jobs
drs_recovery            | wave                          | test_info_modules.py::test_job_info
drs_recovery            | stop_targets                  | test_drs_recovery.py::test_stop_targets
drs_recovery            | retry_failed                  | test_drs_recovery.py::test_launch_failure_then_retry_failed
drs_recovery            | wait                          | test_drs_recovery.py::test_drill_without_waiting_split_into_jobs
drs_recovery            | wait_timeout                  | test_drs_recovery.py::test_timeout_then_rerun_adopts_the_running_job
drs_recovery            | poll_interval                 | test_drs_recovery.py::test_timeout_then_rerun_adopts_the_running_job (poll count)
drs_recovery            | poll_interval                 | test_drs_recovery.py::test_refusals_come_before_any_change
drs_recovery            | servers_per_job               | test_drs_recovery.py::test_drill_without_waiting_split_into_jobs
drs_recovery            | servers_per_job               | test_drs_recovery.py::test_refusals_come_before_any_change
drs_recovery            | fail_on_launch_failure        | test_drs_recovery.py::test_launch_failure_then_retry_failed
drs_recovery            | return_after                  | test_drs_recovery.py::test_return_after_returns_waiting_and_a_missing_expected_ip_is_refused_before_any_change
drs_recovery            | return_after                  | test_drs_recovery.py::test_ips_checked_in_the_same_run_and_progress_shown_between_waits (slices of the action plugin)
drs_recovery            | validate_ips                  | test_drs_recovery.py::test_ips_checked_in_the_same_run_and_progress_shown_between_waits
drs_recovery            | validate_ips                  | test_drs_recovery.py::test_return_after_returns_waiting_and_a_missing_expected_ip_is_refused_before_any_change
drs_recovery            | record                        | test_drs_recovery.py::test_the_run_that_sees_the_jobs_end_records_the_wave
drs_reverse_replication | recovery_instance_ids         | test_drs_reverse_replication.py::test_reverse_replication_until_ready
drs_reverse_replication | recovery_instance_ids         | test_drs_reverse_replication.py::test_reverse_replication_no_wait_timeout_and_refusals
drs_reverse_replication | wait                          | test_drs_reverse_replication.py::test_reverse_replication_no_wait_timeout_and_refusals
drs_reverse_replication | lag_threshold                 | test_drs_reverse_replication.py::test_reverse_replication_until_ready
drs_reverse_replication | wait_timeout                  | test_drs_reverse_replication.py::test_reverse_replication_no_wait_timeout_and_refusals
drs_reverse_replication | poll_interval                 | test_drs_reverse_replication.py::test_reverse_replication_until_ready
drs_reverse_replication | execution_id                  | test_failback_playbook.py::test_rerun_after_the_last_change_of_a_wave_before_its_record_finishes_without_waiting (through drs_wave: failback_steps.reverse_replication)
drs_reverse_replication | wave                          | test_failback_playbook.py::test_rerun_after_the_last_change_of_a_wave_before_its_record_finishes_without_waiting (through drs_wave: failback_steps.reverse_replication)
drs_reverse_replication | source_region                 | test_drs_reverse_replication.py::test_reverse_replication_no_wait_timeout_and_refusals
drs_reverse_replication | source_region                 | test_drs_reverse_replication.py::test_reverse_replication_until_ready
drs_reverse_replication | source_role_arn               | test_cross_account.py::test_source_role_for_primary_region_reads
drs_reverse_replication | source_external_id            | test_cross_account.py::test_source_role_for_primary_region_reads
drs_ip_validate         | servers                       | test_drs_ip_validate.py::test_ip_validation
drs_ip_validate         | expect                        | test_drs_ip_validate.py::test_ip_validation
drs_ip_validate         | expect                        | test_drs_recovery.py::test_recovery_end_to_end_check_mode_and_adoption
drs_ip_validate         | fail_on_mismatch              | test_drs_ip_validate.py::test_ip_validation
drs_ip_validate         | capture_only                  | test_drs_ip_validate.py::test_ip_validation
drs_source_server_info  | source_server_ids             | test_info_modules.py::test_source_server_info_filters
drs_source_server_info  | staging_account_ids           | test_info_modules.py::test_source_server_info_filters
drs_source_server_info  | replication_direction         | test_info_modules.py::test_source_server_info_filters
drs_source_server_info  | replication_direction         | test_drs_reverse_replication.py::test_reverse_replication_until_ready
drs_source_server_info  | tags                          | test_info_modules.py::test_source_server_info_filters
drs_source_server_info  | include_launch_configuration  | test_info_modules.py::test_source_server_info_filters
drs_source_server_info  | include_raw                   | test_info_modules.py::test_source_server_info_filters
drs_job_info            | job_ids                       | test_info_modules.py::test_job_info
drs_job_info            | execution_id                  | test_info_modules.py::test_job_info
drs_job_info            | wave                          | test_info_modules.py::test_job_info
drs_job_info            | from_date                     | test_info_modules.py::test_job_info
drs_job_info            | from_date                     | test_info_modules.py::test_from_date_in_whole_seconds_includes_that_second
drs_job_info            | include_log                   | test_info_modules.py::test_job_info
drs_instance_match      | protection_group              | test_drs_instance_pair.py::test_match_uses_stored_pairs_and_explicit_overrides_win
drs_instance_match      | table_prefix                  | test_drs_instance_pair.py::test_match_uses_stored_pairs_and_explicit_overrides_win (alt prefix)
drs_instance_pair       | protection_group              | test_drs_instance_pair.py::test_add_from_match_with_check_diff_then_idempotent_and_lock_untouched
drs_instance_pair       | protection_group              | test_drs_instance_pair.py::test_refusals_come_before_any_write
drs_instance_pair       | table_prefix                  | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_instance_pair       | table_prefix                  | test_drs_instance_pair.py::test_refusals_come_before_any_write (missing table named)
drs_instance_pair       | pairs                         | test_drs_instance_pair.py::test_add_from_match_with_check_diff_then_idempotent_and_lock_untouched (drs_instance_match pairs)
drs_instance_pair       | pairs                         | test_drs_instance_pair.py::test_update_remove_and_purge
drs_instance_pair       | pairs                         | test_drs_instance_pair.py::test_refusals_come_before_any_write
drs_instance_pair       | state                         | test_drs_instance_pair.py::test_update_remove_and_purge
drs_instance_pair       | state                         | test_drs_instance_pair.py::test_refusals_come_before_any_write
drs_instance_pair       | purge                         | test_drs_instance_pair.py::test_update_remove_and_purge
drs_instance_pair       | purge                         | test_drs_instance_pair.py::test_refusals_come_before_any_write
drs_instance_pair       | target_role_arn               | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_instance_pair       | external_id                   | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_instance_pair       | require_external_id           | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_instance_pair       | region                        | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_instance_pair       | region                        | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | endpoint_url                  | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | access_key                    | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | secret_key                    | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | profile                       | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | debug_botocore_endpoint_logs  | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_instance_pair       | session_token                 | NOT VERIFIABLE: the simulator picks the account from the access key alone
drs_instance_pair       | aws_ca_bundle                 | NOT VERIFIABLE: the simulator serves plain HTTP
drs_instance_pair       | validate_certs                | NOT VERIFIABLE: the simulator serves plain HTTP
drs_instance_pair       | aws_config                    | NOT VERIFIABLE: no botocore client setting is visible in the simulator's request log
drs_execution_info      | execution_id                  | test_drs_execution_info.py::test_multi_wave_record_listing_by_status_and_missing
drs_execution_info      | status                        | test_drs_execution_info.py::test_multi_wave_record_listing_by_status_and_missing
drs_execution_info      | protection_group              | test_drs_execution_info.py::test_multi_wave_record_listing_by_status_and_missing
drs_execution_info      | table_prefix                  | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_execution_info      | fail_if_missing               | test_drs_execution_info.py::test_multi_wave_record_listing_by_status_and_missing
drs_execution_info      | target_role_arn               | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_execution_info      | external_id                   | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_execution_info      | require_external_id           | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_execution_info      | region                        | test_drs_instance_pair.py::test_region_table_prefix_and_role_choose_the_state_tables
drs_execution_info      | region                        | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | endpoint_url                  | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | access_key                    | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | secret_key                    | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | profile                       | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | debug_botocore_endpoint_logs  | test_drs_execution_info.py::test_connection_options_from_the_action_group
drs_execution_info      | session_token                 | NOT VERIFIABLE: the simulator picks the account from the access key alone
drs_execution_info      | aws_ca_bundle                 | NOT VERIFIABLE: the simulator serves plain HTTP
drs_execution_info      | validate_certs                | NOT VERIFIABLE: the simulator serves plain HTTP
drs_execution_info      | aws_config                    | NOT VERIFIABLE: no botocore client setting is visible in the simulator's request log
drs_execution_info      | render                        | test_report_playbook.py::test_report_of_a_completed_failover
drs_execution_info      | render                        | test_report_playbook.py::test_report_escapes_html_from_the_record
drs_execution_info      | render                        | test_report_playbook.py::test_report_refuses_a_missing_or_unknown_execution (not with status)
drs_drill_cleanup       | servers                       | test_drill_playbooks.py::test_drill_cleanup_module_choices_refusals_and_check_mode
drs_drill_cleanup       | non_drill_instances           | test_drill_playbooks.py::test_drill_cleanup_module_choices_refusals_and_check_mode
drs_drill_cleanup       | non_drill_instances           | test_drill_playbooks.py::test_cleanup_refuses_a_real_recovery_before_any_change
drs_drill_cleanup       | target_role_arn               | test_drill_playbooks.py::test_drill_cleanup_in_another_account
drs_drill_cleanup       | external_id                   | test_drill_playbooks.py::test_drill_cleanup_in_another_account
drs_drill_cleanup       | require_external_id           | test_drill_playbooks.py::test_drill_cleanup_in_another_account
drs_drill_cleanup       | region                        | test_drill_playbooks.py::test_drill_cleanup_module_choices_refusals_and_check_mode
drs_state_tables        | table_prefix                  | test_state_tables.py::test_missing_tables_are_named
drs_state_tables        | ensure_ttl                    | test_state_tables.py::test_ttl_switched_off_is_turned_back_on
drs_metrics             | protection_group              | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group
drs_metrics             | execution_type                | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group (DRILL dimension)
drs_metrics             | execution_type                | test_metrics.py::test_failback_wave_adds_replication_lag_and_servers_failed_back
drs_metrics             | wave                          | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group (wave 9)
drs_metrics             | wave_record                   | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group (drs_execution result)
drs_metrics             | wave_record                   | test_metrics.py::test_check_mode_publishes_nothing_and_a_wave_not_ended_or_skipped_publishes_nothing
drs_metrics             | match                         | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group (drs_instance_match result)
drs_metrics             | namespace                     | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group
drs_metrics             | target_role_arn               | test_metrics.py::test_metrics_go_to_the_recovery_account_through_its_role
drs_metrics             | external_id                   | test_metrics.py::test_metrics_go_to_the_recovery_account_through_its_role
drs_metrics             | require_external_id           | test_metrics.py::test_metrics_go_to_the_recovery_account_through_its_role
drs_metrics             | require_external_id           | test_metrics.py::test_check_mode_refuses_a_role_without_external_id_before_any_call
drs_metrics             | region                        | test_metrics.py::test_wave_metrics_are_published_per_wave_and_per_protection_group (us-east-1)
drs_execution           | protection_group              | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | execution_id                  | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | table_prefix                  | test_drs_execution.py::test_check_mode_makes_no_write_and_errors_come_before_writes
drs_execution           | state                         | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | execution_type                | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | waves                         | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock
drs_execution           | primary_region                | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | lease_seconds                 | test_drs_execution.py::test_stale_lock_is_taken_over_only_with_break_lock
drs_execution           | break_lock                    | test_drs_execution.py::test_stale_lock_is_taken_over_only_with_break_lock
drs_execution           | operator                      | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | wave                          | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | wave_status                   | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | servers                       | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | match                         | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock
drs_execution           | recovery                      | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock
drs_execution           | ip_validation                 | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock
drs_execution           | job_ids                       | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | counts                        | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | status                        | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | error                         | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | release_lock                  | test_drs_execution.py::test_stale_lock_is_taken_over_only_with_break_lock
drs_execution           | target_role_arn               | test_drs_execution.py::test_records_go_to_the_recovery_account_through_its_role
drs_execution           | external_id                   | test_drs_execution.py::test_records_go_to_the_recovery_account_through_its_role
drs_execution           | require_external_id           | test_drs_execution.py::test_records_go_to_the_recovery_account_through_its_role
drs_execution           | region                        | test_drs_execution.py::test_execution_lifecycle_resume_and_lock
drs_execution           | first_wave_running            | test_drs_execution.py::test_first_and_next_wave_recorded_running_in_the_same_run
drs_execution           | next_wave                     | test_drs_execution.py::test_first_and_next_wave_recorded_running_in_the_same_run
drs_preflight           | waves                         | test_preflight_playbook.py::test_drs_preflight_module_options (and drs_waves in test_waves_over_the_quotas_fail)
drs_preflight           | waves                         | test_preflight_playbook.py::test_each_not_ready_cause_fails_naming_the_server
drs_preflight           | lag_threshold                 | test_preflight_playbook.py::test_each_not_ready_cause_fails_naming_the_server (drs_lag_threshold)
drs_preflight           | lag_threshold                 | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | launch_disposition            | test_preflight_playbook.py::test_ready_estate_passes_and_drift_is_reported_not_failed (drs_launch_disposition)
drs_preflight           | launch_disposition            | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | fail_on_drift                 | test_preflight_playbook.py::test_ready_estate_passes_and_drift_is_reported_not_failed
drs_preflight           | fail_on_drift                 | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | servers_per_job               | test_preflight_playbook.py::test_waves_over_the_quotas_fail
drs_preflight           | servers_per_job               | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | allow_multi_job_waves         | test_preflight_playbook.py::test_waves_over_the_quotas_fail
drs_preflight           | allow_multi_job_waves         | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | max_concurrent_jobs           | test_preflight_playbook.py::test_waves_over_the_quotas_fail
drs_preflight           | max_concurrent_jobs           | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | max_servers_in_active_jobs    | test_preflight_playbook.py::test_waves_over_the_quotas_fail
drs_preflight           | max_servers_in_active_jobs    | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | max_replicating_servers       | test_preflight_playbook.py::test_waves_over_the_quotas_fail
drs_preflight           | max_replicating_servers       | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | protection_group              | test_preflight_playbook.py::test_lock_and_state_tables_are_checked
drs_preflight           | table_prefix                  | test_preflight_playbook.py::test_lock_and_state_tables_are_checked (it-state)
drs_preflight           | table_prefix                  | test_preflight_playbook.py::test_drs_preflight_module_options (missing tables named)
drs_preflight           | check_permissions             | test_permission_preflight.py::test_an_identity_that_may_not_simulate_itself_gets_the_fix_and_the_check_can_be_skipped
drs_preflight           | check_permissions             | test_permission_preflight.py::test_a_role_missing_a_statement_is_named_with_action_region_and_fix (default true)
drs_preflight           | check_permissions             | test_permission_preflight.py::test_the_preflight_playbook_fails_naming_the_denied_action_and_the_fix (drs_preflight_check_permissions)
drs_preflight           | permission_workflows          | test_permission_preflight.py::test_the_shipped_policies_pass_with_iam_enforced (narrowed to failover)
drs_preflight           | source_region                 | test_preflight_playbook.py::test_drs_preflight_module_options (name_from source_instance / drs_source_server)
drs_preflight           | source_role_arn               | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | source_external_id            | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | target_role_arn               | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | external_id                   | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | require_external_id           | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | region                        | test_preflight_playbook.py::test_drs_preflight_module_options (from the action group)
drs_preflight           | endpoint_url                  | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | access_key                    | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | secret_key                    | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | profile                       | test_preflight_playbook.py::test_drs_preflight_module_options
drs_preflight           | debug_botocore_endpoint_logs  | test_preflight_playbook.py::test_drs_preflight_module_options
drs_wave_plan           | hosts                         | test_docs.py::test_drs_wave_plan_reads_the_inventory_or_takes_the_hosts_given
drs_wave_plan           | hosts                         | test_failover_playbook.py::test_bad_inventory_is_refused_before_any_aws_call
drs_wave_plan           | only                          | test_preflight_playbook.py::test_waves_over_the_quotas_fail (drs_waves)
drs_wave_plan           | only                          | test_drill_playbooks.py::test_drill_then_cleanup_by_wave_idempotent_and_recorded (drs_waves)
drs_agent_install       | servers                       | test_failback_modules.py::test_agent_install_check_mode_timeout_and_refusals
drs_agent_install       | servers                       | test_failback_playbook.py::test_untagged_originals_then_agent_failure_then_the_same_execution_resumes (through drs_wave: failback_steps.install_agents)
drs_agent_install       | wait_timeout                  | test_failback_modules.py::test_agent_install_check_mode_timeout_and_refusals (SSM executionTimeout)
drs_agent_install       | poll_interval                 | test_failback_modules.py::test_agent_install_check_mode_timeout_and_refusals (refused when not > 0)
drs_failback_info       | names                         | test_failback_modules.py::test_failback_info_from_drs_and_from_the_record
drs_failback_info       | names                         | test_failback_playbook.py::test_multi_wave_failback_end_to_end_check_and_resume (through drs_wave: failback_steps.find_failback)
drs_failback_info       | failover_execution_id         | test_failback_playbook.py::test_ip_mismatch_blocks_the_wave_before_any_stop_or_launch (through drs_wave: failback_steps.find_failback)
drs_failback_info       | failover_execution_id         | test_failback_modules.py::test_failback_info_from_drs_and_from_the_record
drs_failback_info       | protection_group              | test_failback_modules.py::test_failback_info_from_drs_and_from_the_record
drs_failback_info       | table_prefix                  | test_failback_modules.py::test_failback_info_from_drs_and_from_the_record
drs_failback_targets    | servers                       | test_failback_modules.py::test_failback_targets_tag_or_refuse_and_pairing
drs_failback_targets    | servers                       | test_failback_playbook.py::test_multi_wave_failback_end_to_end_check_and_resume (through drs_wave: failback_steps.prepare_originals)
drs_failback_targets    | tag                           | test_failback_modules.py::test_failback_targets_tag_or_refuse_and_pairing
drs_failback_targets    | tag                           | test_failback_playbook.py::test_untagged_originals_then_agent_failure_then_the_same_execution_resumes (through drs_wave: failback_steps.prepare_originals)
drs_failback_targets    | require_failback_servers      | test_failback_modules.py::test_failback_targets_tag_or_refuse_and_pairing
drs_failback_standby    | servers                       | test_failback_modules.py::test_failback_standby_check_mode_halves_refusal_and_idempotence
drs_failback_standby    | servers                       | test_failback_playbook.py::test_multi_wave_failback_end_to_end_check_and_resume (through drs_wave: failback_steps.return_to_standby)
drs_failback_standby    | stop_replication              | test_failback_modules.py::test_failback_standby_check_mode_halves_refusal_and_idempotence
drs_failback_standby    | stop_instances                | test_failback_modules.py::test_failback_standby_check_mode_halves_refusal_and_idempotence
drs_failback_standby    | stop_instances                | test_cross_account.py::test_source_role_for_primary_region_reads
drs_failback_standby    | source_region                 | test_failback_modules.py::test_failback_standby_check_mode_halves_refusal_and_idempotence (from module_defaults)
drs_failback_standby    | source_region                 | test_cross_account.py::test_source_role_for_primary_region_reads
drs_failback_standby    | source_role_arn               | test_cross_account.py::test_source_role_for_primary_region_reads
drs_failback_standby    | source_external_id            | test_cross_account.py::test_source_role_for_primary_region_reads
drs_preflight           | session_token                 | NOT VERIFIABLE: the simulator picks the account from the access key alone
drs_preflight           | aws_ca_bundle                 | NOT VERIFIABLE: the simulator serves plain HTTP
drs_preflight           | validate_certs                | NOT VERIFIABLE: the simulator serves plain HTTP
drs_preflight           | aws_config                    | NOT VERIFIABLE: no botocore client setting is visible in the simulator's request log
drs_wave                | mode                          | test_wave_engine.py::test_a_drill_wave_launches_drill_jobs
drs_wave                | mode                          | test_wave_engine.py::test_a_failback_wave_through_the_engine
drs_wave                | mode                          | test_drill_playbooks.py::test_drill_then_cleanup_by_wave_idempotent_and_recorded (drill_cleanup)
drs_wave                | protection_group              | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded
drs_wave                | protection_group              | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws (the group's lock)
drs_wave                | table_prefix                  | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock (it-state tables)
drs_wave                | execution_id                  | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded
drs_wave                | waves                         | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded
drs_wave                | waves                         | test_wave_engine.py::test_bad_input_is_refused_before_any_call
drs_wave                | wave                          | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded
drs_wave                | wave                          | test_wave_engine.py::test_bad_input_is_refused_before_any_call
drs_wave                | prepared                      | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded (no launch configuration call in the wave)
drs_wave                | approve_each_wave             | test_wave_engine.py::test_approval_keeps_the_next_wave_from_being_recorded_running
drs_wave                | allow_partial_wave            | test_wave_engine.py::test_a_wave_with_an_unmatched_server_is_recorded_failed_and_changes_nothing
drs_wave                | allow_partial_wave            | test_failover_scenarios.py::test_pairs_failing_validation_stop_the_wave_before_any_change
drs_wave                | launch_disposition            | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws
drs_wave                | servers_per_job               | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws
drs_wave                | poll_interval                 | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded (wait under 10 s)
drs_wave                | poll_interval                 | test_wave_engine.py::test_bad_input_is_refused_before_any_call
drs_wave                | wait_timeout                  | test_reliability.py::test_a_job_that_never_ends_times_the_wave_out
drs_wave                | expect_source_ip              | test_failover_scenarios.py::test_ip_validation_against_the_source_ip_records_a_mismatch
drs_wave                | lease_seconds                 | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws
drs_wave                | publish_metrics               | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws
drs_wave                | publish_metrics               | test_failover_playbook.py::test_multi_wave_failover_resume_and_lock
drs_wave                | metrics_namespace             | test_wave_engine.py::test_options_of_a_failover_wave_reach_aws
drs_wave                | failover_execution_id         | test_wave_engine.py::test_a_failback_wave_through_the_engine
drs_wave                | failover_execution_id         | test_failback_playbook.py::test_ip_mismatch_blocks_the_wave_before_any_stop_or_launch
drs_wave                | lag_threshold                 | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | replication_timeout           | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | install_agent                 | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | install_agent                 | test_failback_playbook.py::test_untagged_originals_then_agent_failure_then_the_same_execution_resumes
drs_wave                | agent_timeout                 | test_wave_engine.py::test_failback_options_reach_their_steps (0 refused before any command)
drs_wave                | tag_originals                 | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | failback_launch_template      | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | standby_after_failback        | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | standby_after_failback        | test_wave_engine.py::test_a_failback_wave_through_the_engine
drs_wave                | wait_reprotect                | test_wave_engine.py::test_failback_options_reach_their_steps
drs_wave                | cleanup_non_drill             | test_drill_playbooks.py::test_cleanup_refuses_a_real_recovery_before_any_change
drs_wave                | source_region                 | test_wave_engine.py::test_failover_of_two_waves_prepared_together_and_recorded (matching reads the primary region)
drs_wave                | source_region                 | test_wave_engine.py::test_a_failback_wave_through_the_engine
drs_wave                | source_role_arn               | test_cross_account.py::test_drs_wave_matches_through_the_source_role_and_records_in_the_recovery_account
drs_wave                | source_external_id            | test_cross_account.py::test_drs_wave_matches_through_the_source_role_and_records_in_the_recovery_account
*                       | target_role_arn               | test_cross_account.py::test_recovery_in_another_account (all 7 modules)
*                       | target_role_arn               | test_cross_account.py::test_external_id_is_required_before_any_call
*                       | external_id                   | test_cross_account.py::test_recovery_in_another_account (all 7 modules)
*                       | require_external_id           | test_cross_account.py::test_external_id_is_required_before_any_call (all 7 refuse; false for 4)
*                       | region                        | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | region                        | test_drs_reverse_replication.py::test_reverse_replication_until_ready (us-east-1)
*                       | endpoint_url                  | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | access_key                    | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | secret_key                    | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | profile                       | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | debug_botocore_endpoint_logs  | test_action_group.py::test_group_defaults_reach_our_modules_and_amazon_aws
*                       | session_token                 | NOT VERIFIABLE: the simulator picks the account from the access key alone
*                       | aws_ca_bundle                 | NOT VERIFIABLE: the simulator serves plain HTTP
*                       | validate_certs                | NOT VERIFIABLE: the simulator serves plain HTTP
*                       | aws_config                    | NOT VERIFIABLE: no botocore client setting is visible in the simulator's request log
inventory               | plugin                        | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | regions                       | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | regions                       | test_inventory_plugin.py::test_inventory_errors
inventory               | regions                       | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | protection_group              | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | primary_region                | test_inventory_plugin.py::test_hosts_groups_and_contract_variables (derived, then given)
inventory               | state_table_prefix            | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | hostname_tag                  | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | require_hostname_tag          | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | wave_tag                      | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | default_wave                  | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | default_wave                  | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | replication_direction         | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | staging_account_ids           | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | assume_role_arn               | test_inventory_plugin.py::test_assumed_role
inventory               | external_id                   | test_inventory_plugin.py::test_assumed_role
inventory               | require_external_id           | test_inventory_plugin.py::test_assumed_role
inventory               | compose                       | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | keyed_groups                  | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | groups                        | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | strict                        | test_inventory_plugin.py::test_inventory_errors
inventory               | strict                        | test_inventory_plugin.py::test_hosts_groups_and_contract_variables (off)
inventory               | leading_separator             | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | use_extra_vars                | test_inventory_plugin.py::test_hosts_groups_and_contract_variables
inventory               | cache                         | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | cache_plugin                  | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | cache_connection              | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | cache_prefix                  | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | cache_timeout                 | test_inventory_plugin.py::test_failback_direction_and_cache
inventory               | endpoint_url                  | test_inventory_plugin.py::test_assumed_role (from the file, nothing in the environment)
inventory               | access_key                    | test_inventory_plugin.py::test_assumed_role
inventory               | secret_key                    | test_inventory_plugin.py::test_assumed_role
inventory               | profile                       | test_inventory_plugin.py::test_assumed_role
inventory               | region                        | test_inventory_plugin.py::test_assumed_role (STS region)
inventory               | session_token                 | NOT VERIFIABLE: the simulator picks the account from the access key alone
"""
import pytest

from simlib import Sim, SimulatorProcess

from .helpers import PlaybookRunner

# A recovery job of ~555 simulated seconds takes ~0.1 s; reverse replication to a small lag ~0.6 s.
TIME_SCALE = 5000


@pytest.fixture(scope="session")
def simulator_process():
    process = SimulatorProcess(time_scale=TIME_SCALE)
    yield process
    process.stop()


@pytest.fixture
def sim(simulator_process):
    handle = Sim(simulator_process.url)
    handle.reset()
    return handle


@pytest.fixture
def play(sim, tmp_path):
    """PlaybookRunner: play.run(tasks, check=..., diff=...) -> PlayResult."""
    return PlaybookRunner(sim, tmp_path)
