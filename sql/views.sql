-- Views for analysts, with the labels of the original screens. Valid SQL for both SQLite and
-- PostgreSQL; re-created by `dispenser init`.
DROP VIEW IF EXISTS rekap_kehadiran;
-- statement
CREATE VIEW rekap_kehadiran AS
SELECT
    r.period_kind           AS jenis_periode,
    r.period                AS periode,
    e.name                  AS pegawai,
    r.nip                   AS nip,
    u.name                  AS opd,
    e.grade                 AS golongan,
    r.working_days          AS hari_kerja,
    r.present               AS hadir,
    r.absent                AS tidak_hadir,
    r.tk                    AS tanpa_keterangan,
    r.leave                 AS cuti,
    r.sick                  AS sakit,
    r.permit                AS izin,
    r.official_duty         AS dinas_luar,
    r.study                 AS tugas_belajar,
    r.no_data               AS belum_ada_data,
    r.missing_check_in      AS tidak_absen_masuk,
    r.missing_check_out     AS tidak_absen_pulang,
    r.late_minutes          AS menit_terlambat,
    r.early_leave_minutes   AS menit_pulang_cepat,
    r.tk_equivalent         AS tk_setara,
    r.tk_ytd_equivalent     AS tk_kumulatif_tahun_ini,
    r.rule_version          AS versi_aturan,
    r.calendar_version      AS versi_kalender
FROM recaps r
JOIN employees e ON e.nip = r.nip
JOIN work_units u ON u.opd_code = r.opd_code;
-- statement
DROP VIEW IF EXISTS draft_pending;
-- statement
CREATE VIEW draft_pending AS
SELECT
    d.draft_id,
    d.title             AS judul,
    d.kind              AS jenis,
    d.period            AS periode,
    d.status,
    COUNT(i.nip)        AS jumlah_pegawai,
    d.created_by        AS dibuat_oleh,
    d.updated_at        AS diperbarui
FROM drafts d
LEFT JOIN draft_items i ON i.draft_id = d.draft_id
WHERE d.status IN ('pending', 'awaiting_approval')
GROUP BY d.draft_id, d.title, d.kind, d.period, d.status, d.created_by, d.updated_at;
